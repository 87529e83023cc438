import Foundation
import GRDB
import Logging
import OCI

#if canImport(Glibc)
import Glibc
#endif

public struct BackupOptions: Sendable {
    /// The database copy to write.
    public var destination: String
    /// Replace an existing file at `destination`.
    public var force = false
    /// Also copy the blob files the copy references into this directory (laid out
    /// like `<data-dir>/blobs`).
    public var blobsDirectory: String?
    /// How long to wait for a running garbage collection to finish.
    public var leaseWait: Duration = .seconds(600)
    /// The lease length in seconds and how often it is renewed (default: a quarter of
    /// it) while the copy runs; shortened only by tests.
    var leaseDuration = GarbageCollector.leaseDuration
    var leaseRenewal: Duration?
    /// Tests: runs after the database copy is checked, before the blob files are copied.
    var afterDatabaseCopy: (@Sendable () async throws -> Void)?

    public init(destination: String) {
        self.destination = destination
    }
}

public struct BackupReport: Codable, Sendable {
    public struct TableCount: Codable, Sendable, Equatable {
        public var table: String
        public var rows: Int
    }

    public var database: String
    public var databaseBytes: Int64 = 0
    public var tables: [TableCount] = []
    public var blobsDirectory: String?
    /// Blob files hard-linked (same file system), copied, or already present with the right size.
    public var blobsLinked = 0
    public var blobsCopied = 0
    public var blobsAlreadyPresent = 0
    public var blobBytes: Int64 = 0
    /// Rows of the copy whose file is missing from the store (`registry check` says more).
    public var blobsMissing: [String] = []
    public var durationMilliseconds: Int64 = 0
}

public enum BackupError: Error, CustomStringConvertible {
    case destinationExists(String)
    case collectorBusy(String)
    case leaseLost(String)
    case io(String)

    public var description: String {
        switch self {
        case .destinationExists(let path): "\(path) already exists (use --force to replace it)"
        case .collectorBusy(let why): "\(why); the backup waited for it and gave up"
        case .leaseLost(let why): "\(why); the backup was aborted and its partial copy removed (run it again)"
        case .io(let why): why
        }
    }
}

/// `registry backup`: an online, consistent copy of the database (`VACUUM INTO`, a
/// read transaction: the server keeps taking pushes), taken while holding the GC
/// lease, so no blob file the copy references can be deleted until its blob files
/// have been copied too.
public final class DatabaseBackup: Sendable {
    let registry: Registry
    let logger: Logger

    public init(registry: Registry, logger: Logger = Logger(label: "stowage.backup")) {
        self.registry = registry
        self.logger = logger
    }

    public static let countedTables = ["repositories", "manifests", "tags", "blobs", "uploads", "audit_events", "gc_runs"]

    public func run(_ options: BackupOptions, progress: ProgressHandler? = nil) async throws -> BackupReport {
        let started = ContinuousClock.now
        let destination = options.destination
        if FileManager.default.fileExists(atPath: destination), !options.force {
            throw BackupError.destinationExists(destination)
        }
        let collector = GarbageCollector(registry: registry, logger: logger)
        await progress?("waiting for the garbage collection lease")
        let holder = try await acquireLease(collector, wait: options.leaseWait, duration: options.leaseDuration)
        return try await collector.holding(holder) {
            try await copyStore(options, holder: holder, started: started, progress: progress)
        }
    }

    private func copyStore(
        _ options: BackupOptions, holder: String, started: ContinuousClock.Instant, progress: ProgressHandler?
    ) async throws -> BackupReport {
        let destination = options.destination
        // Renewed from a timer for the whole copy: a long VACUUM INTO or one big
        // cross-file-system copy must not outlast the lease.
        let keeper = LeaseKeeper(registry: registry, holder: holder, duration: options.leaseDuration,
                                 interval: options.leaseRenewal, logger: logger)
        defer { keeper.stop() }

        var report = BackupReport(database: destination, blobsDirectory: options.blobsDirectory)
        try Self.makeDirectories((destination as NSString).deletingLastPathComponent)
        let partial = destination + ".partial"
        unlink(partial)
        do {
            await progress?("copying the database")
            // VACUUM INTO runs its own read transaction on a reader connection: one
            // consistent snapshot, and writers are never blocked.
            try await registry.copyDatabase(to: partial)
            try keeper.check()
            let digests = try finishCopy(partial, report: &report)
            try await options.afterDatabaseCopy?()
            if let directory = options.blobsDirectory {
                try await copyBlobs(digests, to: directory, keeper: keeper, report: &report, progress: progress)
            }
            // The copy is put in place only if the lease is still ours now: had another
            // collector taken it, blobs the copy lists may be gone.
            try await keeper.renew()
            guard rename(partial, destination) == 0 else {
                throw BackupError.io("rename \(partial) to \(destination): \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(partial)
            if let lost = error as? GCError { throw BackupError.leaseLost("\(lost)") }
            throw error
        }
        report.databaseBytes = DirectoryListing.size(destination) ?? 0
        report.durationMilliseconds = Int64((ContinuousClock.now - started).milliseconds)
        return report
    }

    /// Waits (polling) while another collector holds the lease.
    private func acquireLease(_ collector: GarbageCollector, wait: Duration, duration: Int) async throws -> String {
        let deadline = ContinuousClock.now + wait
        while true {
            do {
                return try await collector.acquireLease(duration: duration)
            } catch let error as GCError {
                guard ContinuousClock.now < deadline else { throw BackupError.collectorBusy("\(error)") }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Checks and counts the copy, drops the lease row this backup held (a restored
    /// store must not wait for it), and returns the blob digests it references.
    private func finishCopy(_ path: String, report: inout BackupReport) throws -> [String] {
        let copy = try DatabaseQueue(path: path)
        defer { try? copy.close() }
        return try copy.write { db in
            let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
            guard check == ["ok"] else { throw BackupError.io("the copy failed PRAGMA quick_check: \(check.joined(separator: "; "))") }
            try db.execute(sql: "DELETE FROM gc_lease")
            report.tables = try Self.countedTables.map { table in
                BackupReport.TableCount(table: table, rows: try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0)
            }
            return try String.fetchAll(db, sql: "SELECT digest FROM blobs ORDER BY digest")
        }
    }

    // MARK: Blob files

    private func copyBlobs(
        _ digests: [String], to directory: String, keeper: LeaseKeeper, report: inout BackupReport,
        progress: ProgressHandler?
    ) async throws {
        let source = registry.store.paths
        try Self.makeDirectories(directory)
        for (index, row) in digests.enumerated() {
            guard let digest = Digest(row) else { continue }
            try keeper.check()
            let from = source.blob(digest)
            let shard = "\(directory)/\(digest.algorithm.rawValue)/\(digest.encoded.prefix(2))"
            // Links, copies and stats block: on the blocking pool, one blob a job.
            switch try await BlockingIO.run({ try Self.copyBlob(from, to: "\(shard)/\(digest.encoded)", shard: shard) }) {
            case .missing:
                report.blobsMissing.append(row)
                continue
            case .alreadyPresent(let size):
                report.blobBytes += size
                report.blobsAlreadyPresent += 1
            case .linked(let size):
                report.blobBytes += size
                report.blobsLinked += 1
            case .copied(let size):
                report.blobBytes += size
                report.blobsCopied += 1
            }
            if index % 100 == 0 { await progress?("blobs: \(index + 1)/\(digests.count)") }
        }
    }

    private enum BlobCopy: Sendable {
        case missing
        case alreadyPresent(Int64)
        case linked(Int64)
        case copied(Int64)
    }

    /// One blob file into the backup: a hard link where the filesystem allows it, else a
    /// copy; a file already there with the right size is kept. Blocking.
    private static func copyBlob(_ from: String, to: String, shard: String) throws -> BlobCopy {
        guard let size = DirectoryListing.size(from) else { return .missing }
        if DirectoryListing.size(to) == size { return .alreadyPresent(size) }
        try makeDirectories(shard)
        unlink(to)
        if link(from, to) == 0 { return .linked(size) }
        let code = errno
        guard code == EXDEV else { throw BackupError.io("link \(from) to \(to): \(String(cString: strerror(code)))") }
        try FileCopy.copy(from, to)
        return .copied(size)
    }

    private static func makeDirectories(_ path: String) throws {
        guard !path.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw BackupError.io("mkdir \(path): \(error)")
        }
    }
}
