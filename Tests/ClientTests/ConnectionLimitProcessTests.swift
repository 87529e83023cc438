import Foundation
import Testing
import TestSupport

/// `http.max_connections` as `registry serve` applies it (Hummingbird's live test
/// server does not carry the limit, so this runs the real executable).
extension ClientTests {
    @Suite struct ConnectionLimitProcessTests {
        @Test func pastMaxConnectionsNewConnectionsWaitAndExistingOnesKeepWorking() throws {
            let fixture = try RegistryFixture("max-connections") { directory in
                let config = "\(directory.path)/config.yml"
                try "http:\n  max_connections: 2\n".write(toFile: config, atomically: true, encoding: .utf8)
                return ["--config", config]
            }
            defer { fixture.tearDown() }
            let request = Array("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)  // keep-alive
            func get(_ connection: RawHTTPConnection) throws -> Int {
                try connection.send(request)
                return try connection.readResponse(method: "GET").status
            }
            // The readiness probes' connections are closed; give the server a moment to count them out.
            Thread.sleep(forTimeInterval: 0.3)
            let first = try RawHTTPConnection(port: fixture.port, timeout: 5)
            let second = try RawHTTPConnection(port: fixture.port, timeout: 5)
            #expect(try get(first) == 200)
            #expect(try get(second) == 200)
            let waiting = try RawHTTPConnection(port: fixture.port, timeout: 1)
            try waiting.send(request)
            #expect((try? waiting.readResponse(method: "GET")) == nil, "a connection past the limit was served at once")
            #expect(try get(first) == 200, "an open connection stopped working at the limit")
            #expect(try get(second) == 200)
            first.close()
            var served: RawHTTPResponse?
            for _ in 0..<5 where served == nil { served = try? waiting.readResponse(method: "GET") }
            #expect(served?.status == 200, "the waiting connection was not served once another closed")
        }
    }
}
