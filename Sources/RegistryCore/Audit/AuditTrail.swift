import GRDB

/// The one writer of `audit_events`. Every row any code path records (a client's
/// change through `Registry.recordAudit`, a flushed pull, a collector's or
/// `registry check --repair`'s deletion) is an `AuditEvent` written by `record`, inside
/// the caller's transaction, so that a change and its audit row commit together.
/// The columns are the ones docs/audit.md documents; `occurred_at` and `id` are the
/// table's defaults.
enum AuditTrail {
    static func record(_ db: Database, _ event: AuditEvent) throws {
        try db.cachedStatement(sql: """
            INSERT INTO audit_events(actor, action, repository, tag, digest, size, client_address, user_agent, request_id, gc_run_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                event.actor, event.action, event.repository, event.tag, event.digest, event.size,
                event.clientAddress, event.userAgent, event.requestID, event.gcRunID,
            ])
    }

    static func record(_ db: Database, _ events: some Sequence<AuditEvent>) throws {
        for event in events { try record(db, event) }
    }

    /// Deletes rows older than `retention`; returns how many.
    static func prune(_ db: Database, olderThan retention: Duration) throws -> Int {
        try db.execute(sql: "DELETE FROM audit_events WHERE occurred_at < \(Registry.nowSQL(minus: retention))")
        return db.changesCount
    }
}

/// One row of `audit_events`: what happened, to what, and who did it.
struct AuditEvent: Sendable {
    var action: String
    var actor: String
    var repository: String?
    var tag: String?
    var digest: String?
    var size: Int64?
    var clientAddress: String?
    var userAgent: String?
    var requestID: String?
    /// The garbage-collection run that made the change, if one did.
    var gcRunID: Int64?

    /// A change a client (or the system) made: the context says who, from where.
    init(_ action: String, by context: AuditContext, repository: String?, tag: String? = nil, digest: String? = nil,
         size: Int64? = nil) {
        self.action = action
        actor = context.actor
        self.repository = repository
        self.tag = tag
        self.digest = digest
        self.size = size
        clientAddress = context.clientAddress
        userAgent = context.userAgent
        requestID = context.requestID
    }

    /// A deletion by a collector (`actor` `gc`, with its run) or by `registry check --repair`.
    static func deletion(_ action: String, by actor: String, runID: Int64?, repository: String? = nil, digest: String? = nil,
                         size: Int64) -> AuditEvent {
        var event = AuditEvent(action, by: AuditContext(actor: actor), repository: repository, digest: digest, size: size)
        event.gcRunID = runID
        return event
    }
}
