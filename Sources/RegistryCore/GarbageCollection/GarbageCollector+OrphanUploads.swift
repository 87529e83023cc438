import GRDB

extension GarbageCollector {
    /// Upload files that no session row owns and that were last written more than
    /// `delay` ago. `POST /blobs/uploads/` creates the file before its row, so a kill
    /// between the two leaves one. `uploads/` holds only the sessions in flight, so
    /// listing it on every run is cheap (it is not a walk of `blobs/`).
    func orphanUploadFiles(olderThan delay: Duration) async throws -> [UploadID] {
        let paths = store.paths
        let names = try await BlockingIO.run { DirectoryListing.names(paths.uploadsDirectory) }
        guard !names.isEmpty else { return [] }
        let owned = try await registry.read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM uploads")) }
        let unowned = names.filter { !owned.contains($0) }.compactMap(UploadID.init)
        return try await BlockingIO.run { unowned.filter { (DirectoryListing.age(paths.upload($0)) ?? 0) > delay.seconds } }
    }

    /// Removes those of `ids` that still have no session row, checked again under the
    /// write lock (a session that started since cannot be using a file it did not
    /// create). Each removal is audited as `gc.orphan.delete` by `actor` (with the GC run
    /// when there is one). This is the one way orphan upload files are removed: by every
    /// GC run, by recovery at start and by `registry check --repair`.
    @discardableResult
    func removeOrphanUploadFiles(_ ids: [UploadID], actor: String = GarbageCollector.auditActor, runID: Int64? = nil) async throws -> [(path: String, size: Int64)] {
        guard !ids.isEmpty else { return [] }
        let store = self.store
        return try await registry.write { db in
            let sessionless = Set(try String.fetchAll(db, sql: """
                SELECT value FROM json_each(?) WHERE value NOT IN (SELECT id FROM uploads)
                """, arguments: [Self.jsonArray(ids.map(\.value))]))
            var removed: [(path: String, size: Int64)] = []
            for id in ids where sessionless.contains(id.value) && store.uploadExists(id) {
                let file = Self.uploadFileEntry(store, id)
                try AuditTrail.record(db, .deletion("gc.orphan.delete", by: actor, runID: runID, size: file.size))
                store.removeUploadFile(id)
                removed.append(file)
            }
            return removed
        }
    }

    /// Path and size of an upload file, as reports list removed files.
    static func uploadFileEntry(_ store: BlobStore, _ id: UploadID) -> (path: String, size: Int64) {
        let path = store.paths.upload(id)
        return (path, DirectoryListing.size(path) ?? 0)
    }
}
