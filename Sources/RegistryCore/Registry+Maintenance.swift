import GRDB

/// Entry points for the maintenance commands (`registry-gc`, `registry backup`): the
/// database work they need, named for what it is for.
extension Registry {
    /// Runs `body` with WAL checkpoints deferred, then checkpoints once: each automatic
    /// checkpoint (every 1,000 pages) costs two fsyncs, which dominated a GC run on a
    /// busy disk. The checkpoint at the end is passive and best effort: it never waits
    /// for readers, and when another process holds the lock the next one does it.
    public func withOneCheckpoint<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384") }
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        _ = try? await database.pool.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        return try result.get()
    }

    /// Writes a consistent copy of the database to `path` (`VACUUM INTO`): one read
    /// transaction on a reader connection, so writers are never blocked.
    func copyDatabase(to path: String) async throws {
        try await database.pool.unsafeRead { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
    }
}
