import GRDB
import OCI

#if canImport(Glibc)
import Glibc
#endif

extension StoreChecker {
    /// `--repair`: what is safe to fix, under the GC lease (so no collector runs at the
    /// same time) and with each decision re-checked under the write lock. Orphan blob
    /// files go the way GC deletes blobs: journaled and moved to trash in one write
    /// transaction, then purged. Rows whose file is missing are never deleted here:
    /// the registry told clients those blobs were stored; the report says what to do.
    func repair(_ report: inout CheckReport) async throws {
        let collector = GarbageCollector(registry: registry, logger: logger)
        let leaseDuration = GarbageCollector.leaseDuration
        let holder = try await collector.acquireLease(duration: leaseDuration)
        defer { collector.releaseLease(holder) }
        // Renewed from a timer for the whole repair (recovery and purges run outside the
        // per-batch renewals); a lost lease stops it before the next batch.
        let keeper = LeaseKeeper(registry: registry, holder: holder, duration: leaseDuration, logger: logger)
        defer { keeper.stop() }

        // First, so that they are audited as the check's (recovery would remove them too).
        let uploadOrphans = report.problems(.orphanUploadFile).compactMap { problem in
            problem.path.flatMap { UploadID(String($0.split(separator: "/").last ?? "")) }
        }
        if !uploadOrphans.isEmpty {
            try keeper.check()
            let removed = Set(try await collector.removeOrphanUploadFiles(uploadOrphans, actor: Self.repairActor).map(\.path))
            report.problems.removeAll { $0.kind == .orphanUploadFile && $0.path.map(removed.contains) == true }
            report.repaired += removed.sorted().map { "deleted orphan upload file \($0)" }
        }

        let leftovers = report.problems(.trashLeftover).count + report.problems(.deletionJournalLeftover).count
        if leftovers > 0 {
            try await collector.recover()
            report.problems.removeAll { $0.kind == .trashLeftover || $0.kind == .deletionJournalLeftover }
            report.repaired.append("finished the interrupted garbage collection (\(leftovers) trash files and journal rows)")
        }

        let orphans = report.problems(.orphanBlobFile).compactMap { $0.digest.flatMap(Digest.init) }
        for start in stride(from: 0, to: orphans.count, by: 100) {
            try keeper.check()
            let batch = Array(orphans[start..<min(start + 100, orphans.count)])
            let trashed = try await trashOrphans(batch, holder: holder, leaseDuration: leaseDuration)
            try await collector.purgeTrash(trashed.map(\.description))
            let gone = Set(trashed.map(\.description))
            report.problems.removeAll { $0.kind == .orphanBlobFile && $0.digest.map(gone.contains) == true }
            report.repaired += trashed.map { "moved orphan file \(store.paths.blob($0)) to trash and deleted it" }
        }
    }

    /// One write transaction: the files still without a row are journaled in
    /// `blob_deletions`, audited, and moved to trash; on any failure the moves are undone.
    private func trashOrphans(_ batch: [Digest], holder: String, leaseDuration: Int) async throws -> [Digest] {
        let store = self.store
        return try await registry.write { db in
            try GarbageCollector.renewLease(db, holder: holder, duration: leaseDuration)
            let rowless = Set(try String.fetchAll(db, sql: """
                SELECT value FROM json_each(?) WHERE value NOT IN (SELECT digest FROM blobs)
                """, arguments: [GarbageCollector.jsonArray(batch.map(\.description))]))
            var moved: [Digest] = []
            do {
                for digest in batch where rowless.contains(digest.description) {
                    let size = DirectoryListing.size(store.paths.blob(digest)) ?? 0
                    try db.execute(sql: "INSERT OR REPLACE INTO blob_deletions(digest, size) VALUES (?, ?)",
                                   arguments: [digest.description, size])
                    try GarbageCollector.recordGCAudit(db, action: "gc.orphan.delete", repository: nil, digest: digest.description, size: size,
                                                       runID: nil, actor: Self.repairActor)
                    if try store.moveBlobToTrash(digest) { moved.append(digest) }
                }
            } catch {
                for digest in moved { store.restoreBlobFromTrash(digest) }
                throw error
            }
            return moved
        }
    }

    static let repairActor = "registry-check"
}
