import Foundation
import HTTPTypes
import Logging
import RegistryCore
import RegistryHTTP
import Testing
import TestSupport

/// A client's mistake on the wire is a 4xx and never a 500: bodies whose framing is
/// broken, a client that goes away mid-body, oversized token forms; and
/// `Expect: 100-continue` is answered at once.
@Suite("HTTP edges: framing errors, disconnects, 100-continue")
struct HTTPEdgeTests {
    /// The server's log lines, as JSON, at debug and above.
    static func capturingLogger(_ sink: LineSink) -> Logger {
        var logger = Logger(label: "stowage") { label in JSONLogHandler(label: label, level: .debug, sink: sink.append) }
        logger.logLevel = .debug
        return logger
    }

    static func withCapturedRegistry(
        configure: (inout RegistryConfiguration) -> Void = { _ in },
        _ body: @Sendable (Registry, RegistryClient, LineSink) async throws -> Void
    ) async throws {
        let sink = LineSink()
        try await withDataDirectory { directory in
            var cfg = testConfiguration(directory)
            configure(&cfg)
            try await serveLive(cfg, logger: capturingLogger(sink)) { registry, client in try await body(registry, client, sink) }
        }
    }

    static func errorLines(_ sink: LineSink) -> [String] {
        sink.lines.filter { $0.contains(#""level":"error""#) || $0.contains(#""level":"critical""#) }
    }

    static let framingErrors: [(String, String, String)] = [
        ("chunk size not hex", "Transfer-Encoding: chunked", "zz\r\nhello\r\n0\r\n\r\n"),
        ("chunk size overflowing 64 bits", "Transfer-Encoding: chunked", "FFFFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n"),
        ("negative chunk size", "Transfer-Encoding: chunked", "-5\r\nhello\r\n0\r\n\r\n"),
        ("LF-only chunk lines", "Transfer-Encoding: chunked", "5\nhello\n0\n\n"),
        ("Transfer-Encoding: identity", "Transfer-Encoding: identity", "hello"),
        ("an unknown transfer coding", "Transfer-Encoding: x-unknown", "hello"),
    ]

    @Test("a body with broken framing gets 400 in the OCI format, counted as 400, logged below error",
          arguments: 0..<framingErrors.count)
    func framing(_ index: Int) async throws {
        let (name, header, body) = Self.framingErrors[index]
        try await Self.withCapturedRegistry { _, client, sink in
            let port = try #require(client.client.port)
            let location = try await client.startUpload("edge/framing")
            let response = try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 10)
                try connection.sendHead("PATCH", location, [header])
                try connection.send(body)
                return try connection.readResponse()
            }
            #expect(response.status == 400, "\(name): \(response.head)\n\(response.text)")
            #expect(response.text.contains(#""errors""#), "\(name): \(response.text)")
            try await expectNothingKept(client, location)
            let page = try await scrape(client)
            #expect(page.value("stowage_http_requests_total", ["route": "upload", "method": "PATCH", "status": "500"]) == nil, "\(name)")
            #expect(Self.errorLines(sink).isEmpty, "\(name): \(Self.errorLines(sink))")
        }
    }

    @Test("a body shorter than its Content-Length, the client half-closing: 400, nothing kept")
    func shortBodyHalfClose() async throws {
        try await Self.withCapturedRegistry { _, client, sink in
            let port = try #require(client.client.port)
            let location = try await client.startUpload("edge/short")
            let response = try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 10)
                try connection.sendHead("PATCH", location, ["Content-Length: 100"])
                try connection.send(randomBytes(10))
                connection.shutdownWrite()
                return try connection.readResponse()
            }
            #expect(response.status == 400 && response.text.contains("SIZE_INVALID"), "\(response.head)\n\(response.text)")
            try await expectNothingKept(client, location)
            #expect(Self.errorLines(sink).isEmpty, "\(Self.errorLines(sink))")
        }
    }

    @Test("a client that disconnects mid-body is logged once at info and counted as 499; the session keeps nothing")
    func disconnectMidBody() async throws {
        try await Self.withCapturedRegistry { _, client, sink in
            let port = try #require(client.client.port)
            let location = try await client.startUpload("edge/gone")
            try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 10)
                try connection.sendHead("PATCH", location, ["Content-Length: \(1 << 20)"])
                try connection.send(randomBytes(64 * 1024))
                Thread.sleep(forTimeInterval: 0.3)
                connection.reset()
            }
            var page = try await scrape(client)
            for _ in 0..<100 where page.value("stowage_http_requests_total", ["route": "upload", "method": "PATCH", "status": "499"]) == nil {
                try await Task.sleep(for: .milliseconds(50))
                page = try await scrape(client)
            }
            #expect(page.value("stowage_http_requests_total", ["route": "upload", "method": "PATCH", "status": "499"]) == 1)
            #expect(page.value("stowage_http_requests_total", ["route": "upload", "method": "PATCH", "status": "500"]) == nil)
            let closed = sink.lines.filter { $0.contains("client closed the connection after") }
            #expect(closed.count == 1, "\(sink.lines)")
            #expect(closed.first?.contains(#""level":"info""#) == true)
            #expect(Self.errorLines(sink).isEmpty, "\(Self.errorLines(sink))")
            try await expectNothingKept(client, location)
        }
    }

    @Test("Expect: 100-continue gets 100 Continue before the body is sent, then the upload completes")
    func expectContinue() async throws {
        try await withRegistry { client in
            let port = try #require(client.client.port)
            let location = try await client.startUpload("edge/continue")
            let bytes = randomBytes(3_000_000)
            let (interim, final) = try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 10)
                try connection.sendHead("PATCH", location, ["Content-Length: \(bytes.count)", "Expect: 100-continue"])
                let interim = try connection.readResponse()
                try connection.send(bytes)
                return (interim, try connection.readResponse())
            }
            // The 100 came before any body byte was sent (without it this read times out).
            #expect(interim.status == 100)
            #expect(final.status == 202 && final.header("Range") == "0-\(bytes.count - 1)", "\(final.head)")
        }
    }

    @Test("Expect: 100-continue on a request that is refused gets the final error without 100, and no body is read")
    func expectContinueRefused() async throws {
        try await withAuthRegistry(configure: { $0.auth.mode = .htpasswd }) { r in
            let port = try #require(r.client.client.port)
            let unauthorized = try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 5)
                try connection.sendHead("PATCH", "/v2/edge/x/blobs/uploads/\(UUID().uuidString.lowercased())", ["Content-Length: 3000000", "Expect: 100-continue"])
                return try connection.readResponse()
            }
            #expect(unauthorized.status == 401, "\(unauthorized.head)")
            let unknownSession = try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 5)
                let credentials = Data("admin:admin-secret".utf8).base64EncodedString()
                try connection.sendHead("PATCH", "/v2/edge/x/blobs/uploads/\(UUID().uuidString.lowercased())", ["Authorization: Basic \(credentials)", "Content-Length: 3000000", "Expect: 100-continue"])
                return try connection.readResponse()
            }
            #expect(unknownSession.status == 404 && unknownSession.text.contains("BLOB_UPLOAD_UNKNOWN"), "\(unknownSession.head)")
        }
    }

    @Test("an expectation other than 100-continue is refused with 417 before anything is read")
    func unknownExpectation() async throws {
        try await withRegistry { client in
            let location = try await client.startUpload("edge/expect")
            let response = try await client.send(.patch, location, headers: [.expect: "something-else"], body: randomBytes(10))
            expectError(response, .expectationFailed, "UNSUPPORTED")
            try await expectNothingKept(client, location)
        }
    }

    @Test("POST /auth/token: a 200 KiB form gets 413, a malformed chunked one 400, never 500")
    func tokenBodies() async throws {
        try await withAuthRegistry(configure: AuthTokenTests.tokenMode) { r in
            let port = try #require(r.client.client.port)
            let big = try await r.client.send(.post, "/auth/token", headers: [.contentType: "application/x-www-form-urlencoded"],
                                              body: Array(("grant_type=password&username=admin&password=" + String(repeating: "x", count: 200 * 1024)).utf8))
            expectError(big, .contentTooLarge, "SIZE_INVALID")
            let streamed = try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 5)
                try connection.sendHead("POST", "/auth/token", ["Transfer-Encoding: chunked"])
                for _ in 0..<20 { try? connection.sendChunk(Array(repeating: UInt8(ascii: "x"), count: 8192)) }
                return try connection.readResponse()
            }
            #expect(streamed.status == 413, "\(streamed.head)")
            let malformed = try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 5)
                try connection.send("POST /auth/token HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n")
                return try connection.readResponse()
            }
            #expect(malformed.status == 400, "\(malformed.head)")
        }
    }
}

/// The upload session at `location` still holds no byte: a failed or cut request kept nothing.
func expectNothingKept(_ client: RegistryClient, _ location: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let status = try await client.get(location)
    #expect(status.status == .noContent && status.headers[.range] == "0-0", "the session kept bytes of a failed request",
            sourceLocation: sourceLocation)
}
