import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import RegistryCore
import RegistryHTTP
import Synchronization
import Testing
import TestSupport

/// JSON log lines, request ids and the access log, read as an operator's log
/// pipeline would read them.
@Suite struct LoggingTests {
    @Test func jsonLinesCarryTheFieldsAndEscapeText() throws {
        let sink = LineSink()
        var logger = Logger(label: "stowage.test") { label in JSONLogHandler(label: label, level: .debug, sink: sink.append) }
        logger[metadataKey: "component"] = "tests"
        logger.info("a \"quoted\"\nmessage", metadata: ["count": .stringConvertible(3), "level": "not the level"])
        logger.trace("below the level: dropped")

        let lines = sink.lines
        try #require(lines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["message"] as? String == "a \"quoted\"\nmessage")
        #expect(object["level"] as? String == "info")
        #expect(object["label"] as? String == "stowage.test")
        #expect(object["component"] as? String == "tests")
        #expect(object["count"] as? String == "3")
        #expect(object["meta_level"] as? String == "not the level")
        let timestamp = try #require(object["timestamp"] as? String)
        #expect(timestamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(timestamp)")
    }

    @Test func concurrentLinesNeverInterleave() async throws {
        let sink = LineSink()
        let logger = Logger(label: "stowage.test") { label in JSONLogHandler(label: label, sink: sink.append) }
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for i in 0..<200 { logger.info("line", metadata: ["task": "\(task)", "i": "\(i)", "pad": "\(String(repeating: "x", count: 500))"]) }
                }
            }
        }
        let lines = sink.lines
        #expect(lines.count == 1600)
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }

    @Test func accessLogLineWithAnIncomingRequestID() async throws {
        try await withLoggedRegistry { client, sink in
            let bytes = randomBytes(1234)
            let digest = sha256(bytes)
            let pushed = try await client.send(.post, "/v2/logs/app/blobs/uploads/?digest=\(digest)",
                                               headers: [.contentType: "application/octet-stream", requestIDField: "trace-42.a:b_c"],
                                               body: bytes)
            #expect(pushed.status == .created)
            #expect(pushed.headers[requestIDField] == "trace-42.a:b_c")
            let pulled = try await client.get("/v2/logs/app/blobs/\(digest)")
            #expect(pulled.status == .ok)

            let entries = try await sink.eventually(count: 2).map(Self.object)
            let push = try #require(entries.first { $0["request_id"] as? String == "trace-42.a:b_c" })
            #expect(push["method"] as? String == "POST")
            #expect(push["status"] as? String == "201")
            #expect(push["bytes_in"] as? String == "1234")
            #expect(push["path"] as? String == "/v2/logs/app/blobs/uploads/?digest=\(digest)")
            #expect(push["remote"] as? String == "127.0.0.1")
            #expect(push["label"] as? String == "stowage.access")
            #expect(Double(push["duration_ms"] as? String ?? "") != nil)
            let pull = try #require(entries.first { $0["method"] as? String == "GET" })
            #expect(pull["bytes_out"] as? String == "1234")
            #expect(pull["status"] as? String == "200")
            // No incoming id: one is made, echoed and logged.
            let generated = try #require(pulled.headers[requestIDField])
            #expect(pull["request_id"] as? String == generated)
        }
    }

    @Test func insaneRequestIDsAreReplaced() async throws {
        try await withLoggedRegistry { client, _ in
            for bad in ["has space", String(repeating: "a", count: 200), "semi;colon", "quote\"d"] {
                let response = try await client.get("/v2/", headers: [requestIDField: bad])
                let echoed = try #require(response.headers[requestIDField])
                #expect(echoed != bad)
                #expect(!echoed.isEmpty)
            }
        }
    }

    @Test func theAccessLogNamesTheUser() async throws {
        try await withAuthRegistry(configure: { $0.auth.mode = .htpasswd }) { auth in
            // withAuthRegistry has no access log: build one on the same registry.
            let sink = LineSink()
            let accessLog = Logger(label: "stowage.access") { label in JSONLogHandler(label: label, sink: sink.append) }
            let app = Application(router: RegistryApplication.buildRouter(registry: auth.registry, accessLog: accessLog),
                                  configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let credentials = Data("alice:\(TestUsers.passwords["alice"]!)".utf8).base64EncodedString()
                let response = try await client.executeRequest(uri: "/v2/", method: .get, headers: [.authorization: "Basic \(credentials)"], body: nil)
                #expect(response.status == .ok)
            }
            let entry = try Self.object(try #require(try await sink.eventually(count: 1).first))
            #expect(entry["user"] as? String == "alice")
            #expect(entry["status"] as? String == "200")
        }
    }

    // MARK: Helpers

    private let requestIDField = HTTPField.Name("X-Request-Id")!

    static func object(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
    }

    private func withLoggedRegistry(_ body: @Sendable (RegistryClient, LineSink) async throws -> Void) async throws {
        try await withDataDirectory { directory in
            let cfg = testConfiguration(directory)
            let registry = try Registry.open(configuration: cfg)
            let sink = LineSink()
            let accessLog = Logger(label: "stowage.access") { label in JSONLogHandler(label: label, sink: sink.append) }
            let app = Application(router: RegistryApplication.buildRouter(registry: registry, accessLog: accessLog),
                                  configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in try await body(RegistryClient(client: client), sink) }
        }
    }
}

/// Collects what a `JSONLogHandler` writes, line by line.
final class LineSink: Sendable {
    private let text = Mutex("")

    var append: JSONLogHandler.Sink {
        { [self] bytes in text.withLock { $0 += String(decoding: bytes, as: UTF8.self) } }
    }

    var lines: [String] {
        text.withLock { $0.split(separator: "\n").map(String.init) }
    }

    /// The access line is written after the response body, so it may trail the response a little.
    func eventually(count: Int) async throws -> [String] {
        for _ in 0..<500 where lines.count < count { try await Task.sleep(for: .milliseconds(20)) }
        return lines
    }
}
