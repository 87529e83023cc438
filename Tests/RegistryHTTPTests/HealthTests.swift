import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RegistryCore
import RegistryHTTP
import Testing

/// `/healthz` (liveness) and `/readyz` (readiness) as a load balancer or Kubernetes
/// probes them: no credentials, 200 or 503 with the failing check named.
@Suite struct HealthTests {
    struct Readiness: Decodable {
        var status: String
        var failed: String?
        var checks: [String: String]
    }

    @Test func livenessAndReadinessOnAHealthyRegistry() async throws {
        try await withRegistry { client in
            let live = try await client.get("/healthz")
            #expect(live.status == .ok)
            #expect(live.text.contains("ok"))
            let ready = try await client.get("/readyz")
            #expect(ready.status == .ok)
            let body = try ready.decode(Readiness.self)
            #expect(body.status == "ready")
            #expect(body.checks == ["database": "ok", "storage": "ok"])
        }
    }

    @Test func probesNeedNoCredentials() async throws {
        try await withAuthRegistry(configure: { $0.auth.mode = .htpasswd }) { auth in
            let base = try await auth.client.get("/v2/")
            let live = try await auth.client.get("/healthz")
            let ready = try await auth.client.get("/readyz")
            #expect(base.status == .unauthorized)
            #expect(live.status == .ok)
            #expect(ready.status == .ok)
        }
    }

    @Test func notReadyWhenTheDatabaseFileIsGone() async throws {
        try await withLiveRegistry { registry, client in
            let root = registry.configuration.dataDirectory
            let database = root + "/registry.db"
            // The file at the configured path is replaced by a directory (a botched
            // restore, a volume swapped under the server): root cannot read it either.
            try FileManager.default.moveItem(atPath: database, toPath: database + ".aside")
            try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: false)
            let failing = try await client.get("/readyz")
            try FileManager.default.removeItem(atPath: database)
            try FileManager.default.moveItem(atPath: database + ".aside", toPath: database)

            #expect(failing.status == .serviceUnavailable)
            let body = try failing.decode(Readiness.self)
            #expect(body.status == "unavailable")
            #expect(body.failed == "database")
            #expect(body.checks["storage"] == "ok")
            #expect(body.checks["database"] != "ok")
            // Liveness does not depend on it.
            #expect(try await client.get("/healthz").status == .ok)
            // Restored: ready again.
            #expect(try await client.get("/readyz").status == .ok)
        }
    }

    @Test func notReadyWhenTheDataDirectoryCannotBeWritten() async throws {
        try await withLiveRegistry { registry, client in
            let root = registry.configuration.dataDirectory
            // The data directory disappears (an unmounted volume): neither check passes.
            try FileManager.default.moveItem(atPath: root, toPath: root + ".away")
            let failing = try await client.get("/readyz")
            try FileManager.default.moveItem(atPath: root + ".away", toPath: root)

            #expect(failing.status == .serviceUnavailable)
            let body = try failing.decode(Readiness.self)
            #expect(body.failed?.split(separator: ",").contains("storage") == true)
            #expect(body.checks["storage"]?.contains("cannot create") == true)
            #expect(try await client.get("/readyz").status == .ok)
        }
    }
}
