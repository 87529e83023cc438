import Foundation
import OCI
import RegistryCore
import Testing
import TestSupport

/// Blob bodies on plain HTTP/1 connections go out with sendfile(2), a few MiB at a time
/// (`SendfileHandler`): what a client sees must be exactly what it would see otherwise.
@Suite("Blob bodies sent with sendfile")
struct SendfileTests {
    /// Larger than two of the handler's chunks, so a body takes three.
    static let size = 9 << 20

    @Test("a blob pulled whole or by range arrives exact, and pipelined requests behind it are answered in order")
    func pipelined() async throws {
        try await withLiveRegistry { registry, client in
            let port = try #require(client.client.port)
            let bytes = randomBytes(Self.size)
            let digest = try await client.pushBlob("sendfile/whole", bytes)
            let path = "/v2/sendfile/whole/blobs/\(digest)"
            let responses = try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 20)
                // Four requests before reading anything: the whole blob, a range across
                // chunk boundaries, a small request, the whole blob again.
                try connection.send(
                    "GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n"
                        + "GET \(path) HTTP/1.1\r\nHost: localhost\r\nRange: bytes=4194000-8388700\r\n\r\n"
                        + "GET /v2/ HTTP/1.1\r\nHost: localhost\r\n\r\n"
                        + "GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n")
                return try (0..<4).map { _ in try connection.readResponse() }
            }
            #expect(responses[0].status == 200 && sha256(responses[0].body) == digest, "the whole blob, \(responses[0].body.count) bytes")
            #expect(responses[1].status == 206 && sha256(responses[1].body) == sha256(Array(bytes[4_194_000...8_388_700])))
            #expect(responses[1].header("Content-Range") == "bytes 4194000-8388700/\(Self.size)")
            #expect(responses[2].status == 200 && responses[2].text.contains("{"), "\(responses[2].head)")
            #expect(responses[3].status == 200 && sha256(responses[3].body) == digest)
            let page = try await scrape(client)
            #expect(page.value("stowage_http_sent_bytes_total", ["route": "blob"]) == Double(2 * Self.size + 4_194_701),
                    "the bytes sent are counted as the blob's, not the marker's")
            _ = registry
        }
    }

    @Test("clients that go away in the middle of a pull leave no blob file open")
    func abandoned() async throws {
        try await withLiveRegistry { registry, client in
            let port = try #require(client.client.port)
            let digest = try await client.pushBlob("sendfile/gone", randomBytes(Self.size))
            try await onThread {
                for _ in 0..<8 {
                    let connection = try RawHTTPConnection(port: port, timeout: 20)
                    try connection.sendHead("GET", "/v2/sendfile/gone/blobs/\(digest)")
                    _ = try connection.readSome(64 << 10)
                    connection.reset()
                }
            }
            let blobs = registry.paths.blobsDirectory
            var open: [String] = []
            for _ in 0..<100 {
                open = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter {
                    ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) ?? "").hasPrefix(blobs)
                }
                if open.isEmpty { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(open.isEmpty, "\(open.count) blob files still open")
            // The server still serves the blob.
            let again = try await client.send(.get, "/v2/sendfile/gone/blobs/\(digest)")
            #expect(again.status == .ok && again.body.readableBytes == Self.size)
        }
    }

    @Test("a blob file shorter than its row says is a cut response, never a hang or padding")
    func damagedFile() async throws {
        try await withLiveRegistry { registry, client in
            let port = try #require(client.client.port)
            let digest = try await client.pushBlob("sendfile/damaged", randomBytes(Self.size))
            #expect(truncate(registry.paths.blob(try #require(Digest(digest))), 1 << 20) == 0)
            let received = try await onThread {
                let connection = try RawHTTPConnection(port: port, timeout: 10)
                try connection.sendHead("GET", "/v2/sendfile/damaged/blobs/\(digest)")
                return try connection.readSome(Self.size + 4096)
            }
            #expect(received.count < Self.size, "the response must be cut: \(received.count) bytes came")
        }
    }
}
