import GRDB

extension Registry {
    /// The last step of a graceful shutdown: copies the WAL into the database file
    /// (so a backup of `registry.db` alone is complete) and closes every connection.
    /// A checkpoint that another process blocks is skipped: SQLite finishes it later.
    public func close() throws {
        do {
            try database.pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        } catch {
            logger.notice("WAL checkpoint skipped at shutdown", metadata: ["error": "\(error)"])
        }
        try database.pool.close()
    }
}
