import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// SIGTERM as systemd or `docker stop` sends it: no new connections, the request in
/// flight completes, the process exits 0 with its database closed, and what it
/// acknowledged is there after a restart.
extension ClientTests {
    @Suite struct ShutdownTests {
        @Test func anUploadInFlightCompletesAfterSIGTERM() throws {
            let fixture = try RegistryFixture("shutdown")
            defer { fixture.tearDown() }
            let port = fixture.port
            let client = RegistryClient(port: port)
            let session = try client.request("POST", "/v2/shutdown/app/blobs/uploads/")
            try #require(session.status == 202, "\(session)")
            let location = try #require(session.header("Location"))
            let bytes = randomBytes(8 << 20)
            let digest = sha256(bytes)

            // A monolithic PUT whose body arrives slowly: half now, the rest after SIGTERM.
            let connection = try RawHTTPConnection(port: port)
            try connection.sendHead("PUT", "\(location)?digest=\(digest)", headers: [
                ("Content-Type", "application/octet-stream"), ("Content-Length", String(bytes.count)),
            ])
            try connection.send(Array(bytes[..<(4 << 20)]))
            try waitForUploadBytes(fixture, location: location)
            let pid = try #require(fixture.registry.pid)
            let stopped = Date()
            kill(pid, SIGTERM)

            // The listener closes: a new client is refused while the upload goes on.
            try waitFor("new connections to be refused after SIGTERM", timeout: 10) {
                (try? RawHTTPConnection(port: port, timeout: 2)) == nil
            }
            #expect(fixture.registry.exitStatus == nil, "the server must wait for the upload in flight")

            try connection.send(Array(bytes[(4 << 20)...]))
            let response = try connection.readResponse(method: "PUT")
            #expect(response.status == 201, "the upload in flight must complete: \(response)")
            #expect(response.header("Docker-Content-Digest") == digest)

            try waitFor("the server to exit", timeout: 30) { fixture.registry.exitStatus != nil }
            #expect(fixture.registry.exitStatus == 0, "log:\n\(fixture.registry.log())")
            #expect(Date().timeIntervalSince(stopped) < 30, "the default shutdown_timeout is 30 s")
            #expect(fixture.registry.log().contains("database checkpointed and closed"))
            // The checkpoint emptied the WAL into registry.db.
            let wal = (try? FileManager.default.attributesOfItem(atPath: "\(fixture.dataDirectory)/registry.db-wal")[.size] as? Int) ?? 0
            #expect(wal == 0, "registry.db-wal still holds \(wal) bytes after a clean shutdown")

            try fixture.registry.start()
            let pulled = try client.request("GET", "/v2/shutdown/app/blobs/\(digest)")
            #expect(pulled.status == 200)
            #expect(sha256(pulled.body) == digest)
        }

        @Test func pullsRecordedJustBeforeSIGTERMReachTheAuditTrail() throws {
            let fixture = try RegistryFixture("shutdown-pulls")
            defer { fixture.tearDown() }
            let client = RegistryClient(port: fixture.port)
            let image = try TestImage(layerSizes: [300])
            try client.push(image, to: "shutdown/pulled", tag: "v1")
            // Pull records are buffered and written every second: SIGTERM right after the
            // pull must still flush them.
            let pulled = try client.request("GET", "/v2/shutdown/pulled/manifests/v1", headers: [("Accept", MediaTypes.manifest)])
            #expect(pulled.status == 200)
            kill(try #require(fixture.registry.pid), SIGTERM)
            try waitFor("the server to exit", timeout: 30) { fixture.registry.exitStatus != nil }
            #expect(fixture.registry.exitStatus == 0)
            let pulls = try StoreInspector(dataDirectory: fixture.dataDirectory).database().read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_events WHERE action = 'manifest.pull' AND tag = 'v1'") ?? 0
            }
            #expect(pulls == 1, "the pull made just before SIGTERM must be in audit_events")
        }

        @Test func theShutdownTimeoutCutsOffAStalledRequest() throws {
            let fixture = try RegistryFixture("shutdown-timeout") { directory in
                let config = "\(directory.path)/config.yml"
                try "shutdown_timeout: 2s\n".write(toFile: config, atomically: true, encoding: .utf8)
                return ["--config", config]
            }
            defer { fixture.tearDown() }
            let client = RegistryClient(port: fixture.port)
            let session = try client.request("POST", "/v2/stalled/app/blobs/uploads/")
            let location = try #require(session.header("Location"))
            // A client that stops sending halfway and never comes back.
            let connection = try RawHTTPConnection(port: fixture.port)
            try connection.sendHead("PATCH", location, headers: [
                ("Content-Type", "application/octet-stream"), ("Content-Length", String(4 << 20)),
            ])
            try connection.send(randomBytes(2 << 20))
            try waitForUploadBytes(fixture, location: location)

            let stopped = Date()
            kill(try #require(fixture.registry.pid), SIGTERM)
            try waitFor("the server to give up on the stalled request and exit", timeout: 20) { fixture.registry.exitStatus != nil }
            let took = Date().timeIntervalSince(stopped)
            #expect(took >= 1.5 && took < 20, "shutdown took \(took) s with shutdown_timeout 2s")
            connection.close()
            #expect(fixture.registry.log().contains("request cut off by shutdown"), "log:\n\(fixture.registry.log())")
            #expect(!fixture.registry.log().contains("internal error"), "log:\n\(fixture.registry.log())")

            // Whatever was cut off, the store is consistent and the server starts again.
            try fixture.registry.start()
            try CrashTests.expectConsistentStore(fixture.dataDirectory)
            let ready = try client.request("GET", "/readyz")
            #expect(ready.status == 200, "\(ready)")
        }

        /// Waits until the server has written part of the body to the session's file:
        /// the request is then surely in flight inside the server.
        private func waitForUploadBytes(_ fixture: RegistryFixture, location: String) throws {
            let id = location.split(separator: "/").last.map(String.init) ?? ""
            try waitFor("the server to receive the first part of the body") {
                let size = (try? FileManager.default.attributesOfItem(atPath: "\(fixture.dataDirectory)/uploads/\(id)")[.size] as? Int) ?? 0
                return size > 0
            }
        }
    }
}
