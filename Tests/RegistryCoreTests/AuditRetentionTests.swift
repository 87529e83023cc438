import Foundation
import OCI
@testable import RegistryCore
import Testing

@Suite("Audit retention and pull records")
struct AuditRetentionTests {
    func count(_ registry: Registry, _ sql: String) throws -> Int {
        try registry.database.pool.read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }

    @Test("rows older than the retention are deleted; without a retention nothing is")
    func retention() async throws {
        let fixture = try await AuditFixture()
        let registry = fixture.registry
        let before = try count(registry, "SELECT COUNT(*) FROM audit_events")
        #expect(before > 20)
        #expect(try await registry.pruneAuditEvents() == 0, "default: keep forever")

        var configuration = registry.configuration
        configuration.auditRetention = .seconds(3600)
        let keeping = try Registry.open(configuration: configuration)
        try await keeping.write { db in
            try db.execute(sql: "UPDATE audit_events SET occurred_at = datetime('now', '-2 hours') WHERE id <= 5")
        }
        #expect(try await keeping.pruneAuditEvents() == 5)
        #expect(try count(registry, "SELECT COUNT(*) FROM audit_events") == before - 5)
    }

    @Test("pulls are written by flush, with last_pulled_at, and not when switched off")
    func pulls() async throws {
        let fixture = try await AuditFixture()
        let registry = fixture.registry
        let pulled = try count(registry, "SELECT COUNT(*) FROM audit_events WHERE action = 'manifest.pull'")
        try await fixture.pull("team/app", "v1", by: AuditFixture.ci)
        #expect(try count(registry, "SELECT COUNT(*) FROM audit_events WHERE action = 'manifest.pull'") == pulled, "buffered until flushed")
        #expect(try await registry.pulls.flush() == 1)
        #expect(try count(registry, "SELECT COUNT(*) FROM audit_events WHERE action = 'manifest.pull'") == pulled + 1)
        #expect(try count(registry, "SELECT COUNT(*) FROM tags WHERE name = 'v1' AND last_pulled_at IS NOT NULL") == 1)

        var configuration = registry.configuration
        configuration.recordPulls = false
        let quiet = try Registry.open(configuration: configuration)
        let manifest = try await quiet.manifest(RepositoryName("team/app")!, .tag(Tag("v1")!))
        quiet.recordPull(RepositoryName("team/app")!, .tag(Tag("v1")!), digest: manifest.digest, audit: AuditFixture.ci)
        #expect(try await quiet.pulls.flush() == 0)
    }
}
