import GRDB
import Logging
import OCI
import Synchronization

extension Registry {
    /// Notes a manifest pull for the audit trail (written by the next flush). The
    /// audit context is built only when pulls are recorded: this is the manifest GET path.
    public func recordPull(_ repository: RepositoryName, _ reference: Reference, digest: Digest, audit: @autoclosure () -> AuditContext) {
        guard configuration.recordPulls else { return }
        let tag: String? = if case .tag(let tag) = reference { tag.value } else { nil }
        pulls.record(.init(repository: repository, tag: tag, digest: digest, audit: audit()))
    }

    /// Deletes audit rows older than the retention, if one is set. Returns how many.
    @discardableResult
    public func pruneAuditEvents() async throws -> Int {
        guard let retention = configuration.auditRetention else { return 0 }
        return try await write { db in try AuditTrail.prune(db, olderThan: retention) }
    }
}
