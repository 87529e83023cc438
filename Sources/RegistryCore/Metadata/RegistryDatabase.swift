import GRDB
import Migrations

/// The SQLite database: one WAL `DatabasePool` (one writer, a pool of readers),
/// migrated on open. Several processes (the server, `registry-gc`) may open it; they
/// serialize on SQLite's write lock and wait up to the busy timeout.
final class RegistryDatabase: Sendable {
    let pool: DatabasePool
    private let lockWaits = LockWaitCancellation()

    init(path: String, busyTimeout: Duration = .seconds(10), readOnly: Bool = false, metrics: RegistryMetrics? = nil) throws {
        pool = try DatabasePool(path: path, configuration: Self.makeConfiguration(
            busyTimeout: busyTimeout, readOnly: readOnly, metrics: metrics, lockWaits: lockWaits))
    }

    /// From now on a statement waiting for another connection's lock fails at once
    /// (SQLITE_BUSY, a 503) instead of waiting out the busy timeout. For the end of a
    /// shutdown whose time is up: the services must return before the service group's
    /// cancellation deadline, or the process is killed without closing the database.
    func stopWaitingForLocks() {
        lockWaits.cancel()
    }

    static func makeConfiguration(
        busyTimeout: Duration, readOnly: Bool, metrics: RegistryMetrics? = nil, lockWaits: LockWaitCancellation? = nil
    ) -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.readonly = readOnly
        if let metrics {
            configuration.busyMode = .callback(BusyHandler(
                timeout: busyTimeout, onWait: { metrics.busyWaits.increment() }, onTimeout: { metrics.busyTimeouts.increment() },
                giveUp: { lockWaits?.isCancelled ?? false }
            ).callback)
        } else {
            configuration.busyMode = .timeout(busyTimeout.seconds)
        }
        configuration.maximumReaderCount = 8
        configuration.prepareDatabase { db in
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
        }
        return configuration
    }

    /// Applies every migration not yet recorded in `schema_migrations`, each in its
    /// own transaction, in file-name order. Returns the identifiers applied.
    @discardableResult
    func migrate() throws -> [String] {
        try pool.barrierWriteWithoutTransaction { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version     TEXT PRIMARY KEY,
                    applied_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
                )
                """)
            var applied: [String] = []
            for migration in Migrations.all.sorted(by: { $0.identifier < $1.identifier }) {
                try db.inTransaction(.immediate) {
                    let done = try Bool.fetchOne(
                        db, sql: "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)",
                        arguments: [migration.identifier]) ?? false
                    if !done {
                        try db.execute(sql: migration.sql)
                        try db.execute(sql: "INSERT INTO schema_migrations(version) VALUES (?)", arguments: [migration.identifier])
                        applied.append(migration.identifier)
                    }
                    return .commit
                }
            }
            return applied
        }
    }

    /// Refuses a database that has migrations this binary does not know: it was written
    /// by a newer Stowage, and this one would misread or damage it (GRDB's migrator
    /// calls it `hasBeenSuperseded`).
    func refuseNewerSchema(path: String) throws {
        let known = Set(Migrations.all.map(\.identifier))
        let unknown = try pool.read { db in
            guard try db.tableExists("schema_migrations") else { return [String]() }
            return try String.fetchAll(db, sql: "SELECT version FROM schema_migrations ORDER BY version").filter { !known.contains($0) }
        }
        guard unknown.isEmpty else { throw SchemaError.newerThanBinary(path: path, unknown: unknown) }
    }

    /// Whether the schema is at the newest migration this binary knows.
    func pendingMigrations() throws -> [String] {
        try pool.read { db in
            let exists = try db.tableExists("schema_migrations")
            let done = exists ? Set(try String.fetchAll(db, sql: "SELECT version FROM schema_migrations")) : []
            return Migrations.all.map(\.identifier).filter { !done.contains($0) }
        }
    }
}

/// A database this binary must not open.
public enum SchemaError: Error, CustomStringConvertible, Equatable {
    case newerThanBinary(path: String, unknown: [String])

    public var description: String {
        switch self {
        case .newerThanBinary(let path, let unknown):
            "the database \(path) has migrations this version of Stowage does not know (\(unknown.joined(separator: ", "))): "
                + "it was upgraded by a newer version. Run that version, or restore the backup taken before the upgrade (docs/upgrading.md)"
        }
    }
}
