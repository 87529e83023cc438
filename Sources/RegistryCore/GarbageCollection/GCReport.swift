/// What a run deleted (or, dry, would delete). Encodes as the `--json` report.
public struct GCReport: Codable, Sendable, Equatable {
    public struct ManifestEntry: Codable, Sendable, Hashable {
        public var repository: String
        public var digest: String
        public var size: Int64
    }

    public struct BlobEntry: Codable, Sendable, Hashable {
        public var digest: String
        public var size: Int64
    }

    public var runID: Int64
    public var dryRun: Bool
    public var deleteUntagged: Bool
    public var fullScan: Bool
    public var manifests: [ManifestEntry] = []
    public var blobs: [BlobEntry] = []
    public var uploads: [String] = []
    /// Files in the store that no row describes: upload files of sessions never recorded
    /// (every run), and blob files (only with a full scan).
    public var orphanFiles: [String] = []
    /// Blob rows whose file is missing: corruption, reported, never deleted (full scan).
    public var missingBlobFiles: [String] = []
    /// Bytes of the upload sessions removed (their acknowledged size).
    public var uploadBytes: Int64 = 0
    /// Bytes of the orphan files removed.
    public var orphanBytes: Int64 = 0
    public var durationMilliseconds: Int64 = 0
    /// Time spent deciding (the read-only mark) and deleting (the sweep).
    public var markMilliseconds: Double = 0
    public var sweepMilliseconds: Double = 0
    /// The longest time one of the run's write transactions held the SQLite write lock.
    public var longestWriteMilliseconds: Double = 0
    public var writeTransactions = 0

    public var bytesReclaimed: Int64 {
        blobs.reduce(0) { $0 + $1.size } + manifests.reduce(0) { $0 + $1.size } + uploadBytes + orphanBytes
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id", dryRun = "dry_run", deleteUntagged = "delete_untagged", fullScan = "full_scan"
        case manifests, blobs, uploads, orphanFiles = "orphan_files", missingBlobFiles = "missing_blob_files"
        case uploadBytes = "upload_bytes", orphanBytes = "orphan_bytes"
        case durationMilliseconds = "duration_ms", longestWriteMilliseconds = "longest_write_ms"
        case markMilliseconds = "mark_ms", sweepMilliseconds = "sweep_ms"
        case writeTransactions = "write_transactions"
    }
}

public enum GCError: Error, CustomStringConvertible, Equatable {
    /// Another collector holds the lease (in this or another process).
    case leaseHeld(holder: String, until: String)
    /// Maintenance mode: nothing may be deleted (a dry run still reports).
    case readOnly
    /// The lease was no longer ours when renewed: another collector may have run.
    case leaseLost(holder: String)

    public var description: String {
        switch self {
        case .readOnly:
            "the registry is in read-only mode (maintenance.read_only): garbage collection deletes nothing; --dry-run still reports"
        case .leaseLost(let holder):
            "the garbage collection lease held as \(holder) was lost (it expired or was taken over): another collector may have deleted blobs since"
        case .leaseHeld(let holder, let until):
            "another garbage collector is running (\(holder), lease until \(until) UTC)"
        }
    }
}
