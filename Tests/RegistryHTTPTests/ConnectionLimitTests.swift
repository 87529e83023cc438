import Foundation
import HTTPTypes
import RegistryCore
import Testing
import TestSupport

/// A slow or idle client must not hold the box: `http.idle_timeout`,
/// `http.request_head_timeout` and `http.body_idle_timeout`, each checked with real
/// sockets (`http.max_connections` is in ClientTests: Hummingbird's test server drops it).
@Suite("Connections: timeouts and the connection limit")
struct ConnectionLimitTests {
    static func fast(_ cfg: inout RegistryConfiguration) {
        cfg.http.idleTimeout = .milliseconds(600)
        cfg.http.requestHeadTimeout = .seconds(1)
        cfg.http.bodyIdleTimeout = .seconds(1)
    }

    @Test("idle keep-alive connections are closed after http.idle_timeout, not before")
    func idleKeepAlive() async throws {
        try await withRegistry(configure: { Self.fast(&$0); $0.http.idleTimeout = .seconds(1) }) { client in
            let port = try #require(client.client.port)
            let results = try await onThread {
                func served() throws -> RawHTTPConnection {
                    let connection = try RawHTTPConnection(port: port, timeout: 5)
                    try connection.sendHead("GET", "/v2/")
                    _ = try connection.readResponse()
                    return connection
                }
                let connections = try (0..<50).map { _ in try served() }
                // A connection just served stays open for a while (0.3 s of the 1 s timeout)...
                let latest = try served()
                let early = latest.waitForClose(seconds: 0.3).closed
                // ...and then every idle connection is closed.
                let closed = (connections + [latest]).map { $0.waitForClose(seconds: 5).closed }
                return (early, closed)
            }
            #expect(!results.0, "a connection was closed well before its idle timeout")
            #expect(results.1.allSatisfy { $0 }, "\(results.1.filter { !$0 }.count) of 51 idle connections still open")
        }
    }

    @Test("a request head sent a byte at a time (slowloris) is answered 408 and closed")
    func slowHead() async throws {
        try await withRegistry(configure: { Self.fast(&$0); $0.http.idleTimeout = .seconds(30) }) { client in
            let port = try #require(client.client.port)
            let outcome = try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 5)
                let started = Date()
                for byte in "GET /v2/ HTTP/1.1\r\nHost: local".utf8 {
                    guard (try? connection.send([byte])) != nil else { break }
                    Thread.sleep(forTimeInterval: 0.1)
                    if Date().timeIntervalSince(started) > 2.5 { break }
                }
                let end = connection.waitForClose(seconds: 3)
                return (end.closed, end.received, Date().timeIntervalSince(started))
            }
            #expect(outcome.0, "the slow client was never disconnected")
            #expect(outcome.1.hasPrefix("HTTP/1.1 408"), "\(outcome.1)")
            #expect(outcome.2 < 4)
        }
    }

    @Test("a body that stalls is cut after http.body_idle_timeout; a slow but moving one is not")
    func stalledBody() async throws {
        // The test client's own connection must outlive the waits: only the body timeout is short.
        try await withRegistry(configure: { Self.fast(&$0); $0.http.idleTimeout = .seconds(60) }) { client in
            let port = try #require(client.client.port)
            let stalled = try await client.startUpload("conn/stall")
            let cut = try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 5)
                try connection.sendHead("PATCH", stalled, ["Content-Length: 1000"])
                try connection.send(randomBytes(10))
                return connection.waitForClose(seconds: 4).closed
            }
            #expect(cut, "a stalled upload kept its connection")
            try await expectNothingKept(client, stalled)

            let moving = try await client.startUpload("conn/slow")
            let bytes = randomBytes(12)
            let response = try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 10)
                try connection.sendHead("PATCH", moving, ["Content-Length: \(bytes.count)"])
                for byte in bytes {  // 12 × 0.3 s = 3.6 s in all, far over the 1 s timeout
                    try connection.send([byte])
                    Thread.sleep(forTimeInterval: 0.3)
                }
                return try connection.readResponse()
            }
            #expect(response.status == 202 && response.header("Range") == "0-11", "\(response.head)")
        }
    }

    @Test("abandoned upload sessions do not keep a file descriptor each")
    func abandonedSessionsAreBounded() async throws {
        try await withLiveRegistry { registry, client in
            let uploads = registry.paths.uploadsDirectory
            for i in 0..<150 {
                let location = try await client.startUpload("conn/abandoned")
                let response = try await client.send(.patch, location, body: Array("chunk \(i)".utf8))
                #expect(response.status == .accepted)
            }
            let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter {
                ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) ?? "").hasPrefix(uploads)
            }
            #expect(open.count <= 64, "\(open.count) upload files open")
        }
    }
}
