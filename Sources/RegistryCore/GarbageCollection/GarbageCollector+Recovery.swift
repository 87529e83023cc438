import GRDB
import OCI

extension GarbageCollector {
    /// Finishes or undoes whatever a crash interrupted, at start and at each run:
    /// a journaled deletion (committed) is finished by unlinking its trash file; a
    /// trash file whose row still exists (its transaction never committed) goes
    /// back into `blobs/`; an upload file whose session row was never written, once
    /// older than the delay, is removed. Returns the upload files removed.
    @discardableResult
    public func recover(runID: Int64? = nil, delay: Duration? = nil) async throws -> [(path: String, size: Int64)] {
        let journaled = try await registry.read { db in try String.fetchAll(db, sql: "SELECT digest FROM blob_deletions") }
        try await purgeTrash(journaled)
        try await restoreTrash()
        // Maintenance mode deletes nothing.
        guard !registry.configuration.readOnly else { return [] }
        let orphans = try await orphanUploadFiles(olderThan: delay ?? registry.configuration.gcDelay)
        return try await removeOrphanUploadFiles(orphans, runID: runID)
    }

    /// Trash files: back into `blobs/` when their row exists, otherwise unlinked.
    private func restoreTrash() async throws {
        let trashed = store.trashedDigests()
        guard !trashed.isEmpty else { return }
        let withRows = try await registry.read { db in
            Set(try String.fetchAll(db, sql: "SELECT digest FROM blobs WHERE digest IN (SELECT value FROM json_each(?))",
                                    arguments: [Self.jsonArray(trashed.map(\.description))]))
        }
        // Under the write lock, so no transaction can insert or delete these rows meanwhile.
        let store = self.store
        try await registry.write { db in
            for digest in trashed {
                let hasRow = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM blobs WHERE digest = ?)",
                                               arguments: [digest.description]) ?? false
                if hasRow, withRows.contains(digest.description), !store.blobExists(digest) {
                    store.restoreBlobFromTrash(digest)
                } else {
                    store.removeFromTrash(digest)
                }
            }
        }
        logger.info("recovered interrupted garbage collection", metadata: ["trash_files": "\(trashed.count)"])
    }

    /// Unlinks trash files of committed deletions and clears their journal rows.
    func purgeTrash(_ digests: [String]) async throws {
        guard !digests.isEmpty else { return }
        for digest in digests.compactMap(Digest.init) { store.removeFromTrash(digest) }
        try await registry.write { db in try Self.clearJournal(db, digests) }
    }

    /// Forgets journal rows whose trash files are gone.
    static func clearJournal(_ db: Database, _ digests: [String]) throws {
        try db.cachedStatement(sql: "DELETE FROM blob_deletions WHERE digest IN (SELECT value FROM json_each(?))")
            .execute(arguments: [jsonArray(digests)])
    }
}
