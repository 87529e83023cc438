import GRDB
import Logging
import OCI

public struct CheckOptions: Sendable {
    /// Re-hash every blob file and compare with its digest.
    public var verifyDigests = false
    /// Fix what is safe to fix (orphan files, leftovers of an interrupted GC).
    public var repair = false
    /// Files without a row younger than this may be a commit in progress: reported as
    /// recent, not counted. The GC delay, like `registry-gc --full`.
    public var recentWindow: Duration

    public init(recentWindow: Duration) {
        self.recentWindow = recentWindow
    }
}

/// `registry check`: verifies the blob files against the database while the server
/// may be running. Reads the database in one snapshot; every suspicion that a
/// concurrent push or GC could explain is re-checked before it is reported, and
/// nothing is changed unless `repair` is set.
public final class StoreChecker: Sendable {
    let registry: Registry
    let logger: Logger

    public init(registry: Registry, logger: Logger = Logger(label: "stowage.check")) {
        self.registry = registry
        self.logger = logger
    }

    var store: BlobStore { registry.store }

    static let missingFileRemedy = """
        the bytes are lost from this store: copy the file back from a backup (registry backup --blobs), \
        or push the affected images again (the registry then accepts the blob's bytes anew)
        """

    public func check(_ options: CheckOptions, progress: ProgressHandler? = nil) async throws -> CheckReport {
        let snapshot = try await registry.read { db in try StoreSnapshot.read(db) }
        var report = CheckReport()
        report.counts = snapshot.counts
        report.digestsVerified = options.verifyDigests
        reportDatabaseProblems(snapshot, into: &report)
        try await checkBlobFiles(snapshot, options: options, progress: progress, into: &report)
        try await checkOrphans(snapshot, options: options, into: &report)
        reportCollectorLeftovers(snapshot, into: &report)
        if options.repair {
            try await repair(&report, options: options)
        }
        return report
    }

    private func reportDatabaseProblems(_ snapshot: StoreSnapshot, into report: inout CheckReport) {
        let restore = "restore the database from a backup (docs/backup.md)"
        if snapshot.integrity != ["ok"] {
            report.problems += snapshot.integrity.map {
                .init(kind: .databaseIntegrity, message: "PRAGMA integrity_check: \($0)", remedy: restore)
            }
        }
        report.problems += snapshot.foreignKeyViolations.map {
            .init(kind: .foreignKey, message: "\($0.table) row \($0.rowID.map(String.init) ?? "?") refers to a missing \($0.parent) row",
                  remedy: restore)
        }
        report.problems += snapshot.manifestsMissingBlobs.map {
            .init(kind: .manifestMissingBlob, message: "manifest \($0.repository)@\($0.manifest) references blob \($0.target), which has no row",
                  digest: $0.target, remedy: "push the image again, or restore the database from a backup")
        }
        report.problems += snapshot.indexesMissingChildren.map {
            .init(kind: .indexMissingChild, message: "index \($0.repository)@\($0.manifest) lists \($0.target), which does not exist",
                  remedy: "push the index again, or restore the database from a backup")
        }
        report.problems += snapshot.tagsMissingManifests.map {
            .init(kind: .tagMissingManifest, message: "tag \($0.repository):\($0.manifest) points to \($0.target), which does not exist",
                  remedy: "push the tag again, or delete it (DELETE /v2/<name>/manifests/<tag>)")
        }
    }

    // MARK: Blob rows against files

    private func checkBlobFiles(
        _ snapshot: StoreSnapshot, options: CheckOptions, progress: ProgressHandler?, into report: inout CheckReport
    ) async throws {
        var missing: [Digest] = []
        var damaged: [CheckReport.Problem] = []
        let totalBytes = snapshot.counts.blobBytes
        for (row, size) in snapshot.blobs.sorted(by: { $0.key < $1.key }) {
            guard let digest = Digest(row) else {
                damaged.append(.init(kind: .foreignKey, message: "blob row '\(row)' is not a valid digest", digest: row))
                continue
            }
            let path = store.paths.blob(digest)
            guard let fileSize = DirectoryListing.size(path) else {
                missing.append(digest)
                continue
            }
            if fileSize != size {
                damaged.append(.init(kind: .wrongBlobSize, message: "blob \(row): the file has \(fileSize) bytes, the row says \(size)",
                                     digest: row, path: path))
                continue
            }
            guard options.verifyDigests else { continue }
            do {
                let blob = report.counts.blobsHashed + 1, bytesBefore = report.counts.bytesHashed, blobs = snapshot.blobs.count
                let computed = try await Self.hashFile(path, algorithm: digest.algorithm) { hashed in
                    await progress?("verifying digests: \(blob)/\(blobs) blobs, "
                                    + "\(Self.mebibytes(bytesBefore + hashed))/\(Self.mebibytes(totalBytes)) MiB")
                }
                report.counts.blobsHashed += 1
                report.counts.bytesHashed += size
                if computed != digest {
                    damaged.append(.init(kind: .digestMismatch, message: "blob \(row): the file's content hashes to \(computed)",
                                         digest: row, path: path))
                }
            } catch {
                damaged.append(.init(kind: .unreadableBlobFile, message: "blob \(row): \(error)", digest: row, path: path))
            }
        }
        report.counts.blobFiles = snapshot.blobs.count - missing.count
        let reallyMissing = try await confirmMissing(missing)
        damaged += reallyMissing.map {
            .init(kind: .missingBlobFile, message: "blob \($0) (\(snapshot.blobs[$0.description] ?? 0) bytes) has a row but no file",
                  digest: $0.description, path: store.paths.blob($0))
        }
        guard !damaged.isEmpty else { return }
        let digests = damaged.compactMap(\.digest)
        let affected = try await registry.read { db in try StoreSnapshot.affectedManifests(db, blobs: digests) }
        for var problem in damaged {
            if let digest = problem.digest, problem.kind != .foreignKey {
                problem.affected = affected[digest] ?? []
                problem.remedy = problem.kind == .missingBlobFile ? Self.missingFileRemedy : """
                    the file is damaged: copy it back from a backup (registry backup --blobs), or remove the file and push \
                    the affected images again
                    """
            }
            report.problems.append(problem)
        }
    }

    /// A file that vanished since the snapshot was deleted by GC (its row is gone now,
    /// or the file sits in trash inside a deleting transaction): not a problem.
    private func confirmMissing(_ digests: [Digest]) async throws -> [Digest] {
        let suspects = digests.filter { !store.blobExists($0) && DirectoryListing.size(store.trashPath($0)) == nil }
        let stillRows = try await rowsNow(in: "blobs", column: "digest", among: suspects.map(\.description))
        return suspects.filter { stillRows.contains($0.description) && !store.blobExists($0) }
    }

    /// Which of `values` have a row in `table` now (read after the snapshot).
    private func rowsNow(in table: String, column: String, among values: [String]) async throws -> Set<String> {
        guard !values.isEmpty else { return [] }
        return try await registry.read { db in
            Set(try String.fetchAll(db, sql: "SELECT \(column) FROM \(table) WHERE \(column) IN (SELECT value FROM json_each(?))",
                                    arguments: [GarbageCollector.jsonArray(values)]))
        }
    }

    /// SHA-256/512 of a file, read through the one read loop on the blocking pool, 64 MiB
    /// per job; `progress` gets the bytes hashed so far after each.
    static func hashFile(_ path: String, algorithm: Digest.Algorithm, progress: (Int64) async -> Void) async throws -> Digest {
        let file = try DiskFile.open(path, flags: O_RDONLY)
        defer { file.close() }
        var hasher = DigestHasher(algorithm: algorithm)
        var hashed: Int64 = 0
        while true {
            let (next, count) = try await BlockingIO.run { [hasher, hashed] in
                var next = hasher, count: Int64 = 0
                try file.readChunks(from: hashed, length: hashSegment) { chunk in
                    next.update(chunk)
                    count += Int64(chunk.count)
                }
                return (next, count)
            }
            hasher = next
            hashed += count
            if count < hashSegment { break }
            await progress(hashed)
        }
        return hasher.finalize()
    }

    private static let hashSegment: Int64 = 64 << 20

    private static func mebibytes(_ bytes: Int64) -> Int64 { bytes >> 20 }

    // MARK: Files without rows

    private func checkOrphans(_ snapshot: StoreSnapshot, options: CheckOptions, into report: inout CheckReport) async throws {
        let window = options.recentWindow.seconds
        let rowless = store.blobFilesOnDisk().filter { snapshot.blobs[$0.description] == nil }
        // Rows committed after the snapshot (a push that finished meanwhile).
        let committed = try await rowsNow(in: "blobs", column: "digest", among: rowless.map(\.description))
        for digest in rowless where !committed.contains(digest.description) {
            let path = store.paths.blob(digest)
            reportUnowned(path, window: window, into: &report) {
                .init(kind: .orphanBlobFile, message: "\($0) has no blob row", digest: digest.description, path: path,
                      remedy: "registry check --repair (or registry-gc --full) moves orphan files to trash and deletes them")
            }
        }
        let uploadNames = DirectoryListing.names(store.paths.uploadsDirectory).filter { !snapshot.uploads.contains($0) }
        let uploadsNow = try await rowsNow(in: "uploads", column: "id", among: uploadNames)
        for name in uploadNames where !uploadsNow.contains(name) {
            let path = "\(store.paths.uploadsDirectory)/\(name)"
            reportUnowned(path, window: window, into: &report) {
                .init(kind: .orphanUploadFile, message: "\($0) belongs to no upload session", path: path,
                      remedy: "the next garbage collection run (or registry check --repair) deletes it")
            }
        }
    }

    /// A file nothing owns: younger than `window`, possibly a commit in progress (listed
    /// as recent); older, the problem `orphan` makes from "<path> (<size> bytes)".
    private func reportUnowned(
        _ path: String, window: Double, into report: inout CheckReport, orphan: (String) -> CheckReport.Problem
    ) {
        guard let age = DirectoryListing.age(path) else { return }
        if age < window {
            report.recentFiles.append(path)
        } else {
            report.problems.append(orphan("\(path) (\(DirectoryListing.size(path) ?? 0) bytes)"))
        }
    }

    // MARK: Leftovers of an interrupted garbage collection

    private func reportCollectorLeftovers(_ snapshot: StoreSnapshot, into report: inout CheckReport) {
        // A running collector's trash and journal are its work in progress.
        guard !snapshot.collectorRunning else { return }
        let remedy = "leftovers of an interrupted garbage collection: the next GC run (or registry check --repair) finishes them"
        report.problems += store.trashedDigests().map {
            .init(kind: .trashLeftover, message: "\(store.trashPath($0)) is still in trash", digest: $0.description,
                  path: store.trashPath($0), remedy: remedy)
        }
        report.problems += snapshot.journal.map {
            .init(kind: .deletionJournalLeftover, message: "blob_deletions still journals \($0)", digest: $0, remedy: remedy)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
