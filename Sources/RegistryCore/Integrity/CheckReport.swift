/// What `registry check` found: problems (each makes the check fail), files too new
/// to judge, what `--repair` did, and how much was looked at.
public struct CheckReport: Codable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case databaseIntegrity = "database_integrity"
        case foreignKey = "foreign_key"
        case missingBlobFile = "missing_blob_file"
        case wrongBlobSize = "wrong_blob_size"
        case unreadableBlobFile = "unreadable_blob_file"
        case digestMismatch = "digest_mismatch"
        case manifestMissingBlob = "manifest_missing_blob"
        case indexMissingChild = "index_missing_child"
        case tagMissingManifest = "tag_missing_manifest"
        case orphanBlobFile = "orphan_blob_file"
        case orphanUploadFile = "orphan_upload_file"
        case trashLeftover = "trash_leftover"
        case deletionJournalLeftover = "deletion_journal_leftover"
    }

    /// An image a damaged blob breaks: the manifest and the tags that point at it.
    public struct AffectedManifest: Codable, Sendable, Equatable {
        public var repository: String
        public var digest: String
        public var tags: [String]

        /// `repo:tag, repo:tag2` or `repo@digest` when untagged.
        public var label: String {
            tags.isEmpty ? "\(repository)@\(digest)" : tags.map { "\(repository):\($0)" }.joined(separator: ", ")
        }
    }

    public struct Problem: Codable, Sendable, Equatable {
        public var kind: Kind
        public var message: String
        public var digest: String?
        public var path: String?
        /// For damaged blobs: the images that can no longer be pulled.
        public var affected: [AffectedManifest]?
        /// What the operator should do about it.
        public var remedy: String?
    }

    public struct Counts: Codable, Sendable, Equatable {
        public var repositories = 0
        public var manifests = 0
        public var tags = 0
        public var blobRows = 0
        public var blobBytes: Int64 = 0
        public var blobFiles = 0
        public var blobsHashed = 0
        public var bytesHashed: Int64 = 0
    }

    public var problems: [Problem] = []
    /// Files without a row that are younger than the GC delay: possibly a commit in
    /// progress (the blob store renames into place, then commits). Not counted.
    public var recentFiles: [String] = []
    public var digestsVerified = false
    /// What `--repair` changed, one line each.
    public var repaired: [String] = []
    public var counts = Counts()

    public var isClean: Bool { problems.isEmpty }

    /// 0 clean, 1 problems found (usage and I/O errors are 2, decided by the caller).
    public var exitCode: Int32 { isClean ? 0 : 1 }

    public func problems(_ kind: Kind) -> [Problem] { problems.filter { $0.kind == kind } }
}

extension CheckReport {
    /// The summary a person reads: counts, then each problem with its remedy.
    public var summary: String {
        var lines = [
            "store check: \(isClean ? "OK" : "\(problems.count) problem\(problems.count == 1 ? "" : "s") found")",
            "  repositories: \(counts.repositories), manifests: \(counts.manifests), tags: \(counts.tags)",
            "  blob rows: \(counts.blobRows) (\(counts.blobBytes) bytes), blob files: \(counts.blobFiles)",
            digestsVerified
                ? "  digests verified: \(counts.blobsHashed) blobs, \(counts.bytesHashed) bytes"
                : "  digests not verified (use --verify-digests to re-hash every blob)",
        ]
        if !recentFiles.isEmpty {
            lines.append("  recent files without a row, not counted (possibly a push in progress): \(recentFiles.count)")
        }
        for kind in Kind.allCases {
            let found = problems(kind)
            guard !found.isEmpty else { continue }
            lines.append("")
            lines.append("\(kind.rawValue): \(found.count)")
            for problem in found {
                lines.append("  - \(problem.message)")
                if let affected = problem.affected, !affected.isEmpty {
                    lines.append("    breaks: \(affected.map(\.label).joined(separator: "; "))")
                }
            }
            if let remedy = found.first?.remedy { lines.append("  what to do: \(remedy)") }
        }
        if !repaired.isEmpty {
            lines.append("")
            lines.append("repaired:")
            lines += repaired.map { "  - \($0)" }
        }
        return lines.joined(separator: "\n")
    }
}
