import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// Signals a `registry serve` process gets from systemd: SIGHUP (`systemctl reload`)
/// must never stop it, and SIGTERM while a request waits for the database lock must
/// end in a clean exit, not in the service group's cancellation `fatalError`.
extension ClientTests {
    @Suite struct SignalTests {
        @Test func sighupOnAPlainHTTPServerIsLoggedAndTheServerKeepsServing() throws {
            let fixture = try RegistryFixture("sighup-plain")
            defer { fixture.tearDown() }
            let client = RegistryClient(port: fixture.port)
            let image = try TestImage(layerSizes: [500])
            try client.push(image, to: "sighup/app", tag: "v1")

            let pid = try #require(fixture.registry.pid)
            func waitForNotice(_ count: Int) throws {
                try waitFor("SIGHUP number \(count) to be logged") {
                    if let status = fixture.registry.exitStatus {
                        throw ClientTestError("SIGHUP stopped the server (status \(status)); log:\n\(fixture.registry.log())")
                    }
                    return fixture.registry.log().components(separatedBy: "nothing to reload").count == count + 1
                }
            }
            kill(pid, SIGHUP)
            try waitForNotice(1)
            kill(pid, SIGHUP)
            try waitForNotice(2)
            #expect(fixture.registry.exitStatus == nil, "SIGHUP stopped the server; log:\n\(fixture.registry.log())")
            let pulled = try client.request("GET", "/v2/sighup/app/manifests/v1", headers: [("Accept", MediaTypes.manifest)])
            #expect(pulled.status == 200, "\(pulled)")
            try client.push(try TestImage(layerSizes: [300]), to: "sighup/app", tag: "v2")
        }

        @Test func sigtermWhileARequestWaitsForTheDatabaseLockExitsCleanly() throws {
            let fixture = try RegistryFixture("shutdown-locked") { directory in
                let config = "\(directory.path)/config.yml"
                try "shutdown_timeout: 1s\n".write(toFile: config, atomically: true, encoding: .utf8)
                return ["--config", config]
            }
            defer { fixture.tearDown() }

            // Another process (here: this test) holds the write lock, as `registry-gc` or a
            // backup could; a push then waits in the busy handler (up to 10 s).
            let holder = try DatabaseQueue(path: "\(fixture.dataDirectory)/registry.db")
            let locked = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), released = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                try? holder.inTransaction(.immediate) { _ in
                    locked.signal()
                    release.wait()
                    return .rollback
                }
                released.signal()
            }
            locked.wait()
            defer {
                release.signal()
                released.wait()
            }
            let connection = try RawHTTPConnection(port: fixture.port)
            defer { connection.close() }
            try connection.sendHead("POST", "/v2/locked/app/blobs/uploads/", headers: [("Content-Length", "0")])
            Thread.sleep(forTimeInterval: 0.5)

            // shutdown_timeout (1 s) passes with the request still waiting: the services are
            // cancelled, the lock wait gives up, and the process exits 0 well before the wait
            // would have timed out (the old 5 s cancellation limit crashed it instead).
            let stopped = Date()
            kill(try #require(fixture.registry.pid), SIGTERM)
            try waitFor("the server to exit", timeout: 30) { fixture.registry.exitStatus != nil }
            let took = Date().timeIntervalSince(stopped)
            #expect(fixture.registry.exitStatus == 0, "log:\n\(fixture.registry.log())")
            #expect(took < 8, "shutdown took \(took) s with shutdown_timeout 1s")
            #expect(fixture.registry.log().contains("database checkpointed and closed"), "log:\n\(fixture.registry.log())")
        }
    }
}
