import GRDB
import Logging
import OCI

/// The registry as a library: the one facade that touches both files and database,
/// following DESIGN.md's write protocol (a blob file appears or disappears only
/// inside the write transaction that inserts or deletes its row).
public final class Registry: Sendable {
    public let configuration: RegistryConfiguration
    /// The metadata and the files: only `Registry` and the RegistryCore types it owns
    /// touch them; everything else calls the intent-named operations below and in the
    /// `Registry+*.swift` files.
    let database: RegistryDatabase
    let store: BlobStore
    let sessions: UploadSessions
    /// Manifest pulls waiting to be written to the audit trail.
    public let pulls: PullRecorder
    /// Counters and gauges for `/metrics`.
    public let metrics: RegistryMetrics
    let logger: Logger

    /// `metrics`: where the registry's metrics go; by default nowhere (a command that
    /// serves no metrics page).
    public init(
        configuration: RegistryConfiguration, logger: Logger = Logger(label: "stowage"), metrics: any MetricsBackend = DiscardedMetrics()
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.metrics = RegistryMetrics(backend: metrics)
        // An idle session's open file is closed after a minute (or the upload timeout,
        // when shorter): an abandoned session must not pin its disk blocks.
        sessions = UploadSessions(evictionAge: min(.seconds(60), configuration.uploadTimeout))
        let paths = StoragePaths(root: configuration.dataDirectory)
        store = BlobStore(paths: paths, syncWrites: configuration.syncWrites)
        try store.createDirectories()
        database = try RegistryDatabase(path: paths.database, busyTimeout: configuration.databaseBusyTimeout, metrics: self.metrics)
        try database.refuseNewerSchema(path: paths.database)
        pulls = PullRecorder(database: database)
    }

    /// Creates the directories and applies pending migrations.
    public static func open(
        configuration: RegistryConfiguration, logger: Logger = Logger(label: "stowage"), metrics: any MetricsBackend = DiscardedMetrics()
    ) throws -> Registry {
        let registry = try Registry(configuration: configuration, logger: logger, metrics: metrics)
        let applied = try registry.migrate()
        if !applied.isEmpty {
            logger.info("applied migrations", metadata: ["migrations": "\(applied.joined(separator: ", "))"])
        }
        return registry
    }

    /// Applies every migration not yet recorded, in file-name order; returns those applied.
    @discardableResult
    public func migrate() throws -> [String] {
        try database.migrate()
    }

    /// Migrations this binary knows that the database lacks.
    public func pendingMigrations() throws -> [String] {
        try database.pendingMigrations()
    }

    /// Where the data directory's parts are.
    public var paths: StoragePaths { store.paths }

    /// For the end of a shutdown whose time is up: statements waiting for another
    /// connection's lock give up at once (a 503) instead of waiting out the busy timeout.
    public func stopWaitingForLocks() {
        database.stopWaitingForLocks()
    }

    /// The lease an unreferenced blob gets: `now + gc delay`, as SQL text.
    var leaseSQL: String {
        Self.nowSQL(plus: configuration.gcDelay)
    }

    /// `now + offset` (or `now - offset`) as SQL timestamp text, to the millisecond:
    /// an operator's `500ms` is 500 ms, not a second, and half of a 1 s lease is 0.5 s.
    static func nowSQL(plus offset: Duration) -> String {
        "strftime('%Y-%m-%d %H:%M:%f', 'now', '+\(offset.secondsText) seconds')"
    }

    static func nowSQL(minus offset: Duration) -> String {
        "strftime('%Y-%m-%d %H:%M:%f', 'now', '-\(offset.secondsText) seconds')"
    }

    /// Runs a write transaction, mapping a busy database to `RegistryError.busy`.
    func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try await database.pool.write(body)
        } catch {
            throw RegistryError.mapping(error)
        }
    }

    /// A write transaction and how long its body held the write lock (from the moment
    /// BEGIN IMMEDIATE got it: waiting for the lock is not holding it).
    func heldWrite<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> (value: T, hold: Duration) {
        try await write { db in
            let start = ContinuousClock.now
            let value = try body(db)
            return (value, ContinuousClock.now - start)
        }
    }

    /// The write transaction of the write protocol: one that moves blob files (an upload
    /// into `blobs/`, a blob to trash). `body` notes each move in `moves` as soon as it is
    /// made; when the transaction does not commit (the body throws, or the commit
    /// fails), `undo` gets those moves in a transaction of its own, taken at once by this
    /// process's writer, so the files are back before any other write sees them out of
    /// place. Returns the body's value and how long it held the write lock. It runs
    /// `uninterrupted`: cancellation cannot stop it between a move and its undo. (Should
    /// the undo fail too, recovery and `--full` resolve what is left.)
    func writeMovingFiles<T: Sendable, Move: Sendable>(
        _ body: @Sendable @escaping (Database, inout [Move]) throws -> T,
        undo: @Sendable @escaping (Database, [Move]) throws -> Void
    ) async throws -> (value: T, hold: Duration) {
        let pool = database.pool
        do {
            return try await Self.uninterrupted {
                try await pool.writeWithoutTransaction { db in
                    var moves: [Move] = []
                    var result: Result<(value: T, hold: Duration), any Error> = .failure(CancellationError())
                    do {
                        try db.inTransaction(.immediate) {
                            let start = ContinuousClock.now
                            let value = try body(db, &moves)
                            result = .success((value, ContinuousClock.now - start))
                            return .commit
                        }
                    } catch {
                        if !moves.isEmpty { try? db.inTransaction(.immediate) { try undo(db, moves); return .commit } }
                        throw error
                    }
                    return try result.get()
                }
            }
        } catch {
            throw RegistryError.mapping(error)
        }
    }

    /// Runs `operation` in a task of its own, so that cancelling the caller cannot stop
    /// it half-way: GRDB aborts the database work of a cancelled task, and some writes
    /// must finish whole once begun (a commit with its undo, a lease release, the record
    /// of a failed run).
    static func uninterrupted<T: Sendable>(_ operation: @Sendable @escaping () async throws -> T) async throws -> T {
        try await Task { try await operation() }.value
    }

    func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try await database.pool.read(body)
        } catch {
            throw RegistryError.mapping(error)
        }
    }
}

// MARK: SQL used by several transactions

extension Registry {
    static func repositoryID(_ db: Database, _ name: RepositoryName) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM repositories WHERE name = ?"), arguments: [name.value])
    }

    /// The repository's id, creating it (and its audit row) on first use.
    static func ensureRepository(_ db: Database, _ name: RepositoryName, audit: AuditContext) throws -> Int64 {
        if let id = try repositoryID(db, name) { return id }
        try db.execute(sql: "INSERT INTO repositories(name) VALUES (?)", arguments: [name.value])
        // Read the id before the audit insert replaces `lastInsertedRowID`.
        let id = db.lastInsertedRowID
        try recordAudit(db, audit, action: "repository.create", repository: name)
        return id
    }

    /// A client's (or the system's) change, in `AuditTrail`'s one writer.
    static func recordAudit(
        _ db: Database, _ audit: AuditContext, action: String, repository: RepositoryName?,
        tag: String? = nil, digest: String? = nil, size: Int64? = nil
    ) throws {
        try AuditTrail.record(db, AuditEvent(action, by: audit, repository: repository?.value, tag: tag, digest: digest, size: size))
    }
}
