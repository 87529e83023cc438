import HTTPTypes
import HummingbirdTesting
import Testing
import TestSupport

/// A client that already has a blob or manifest sends its ETag in If-None-Match and gets
/// 304 Not Modified: no body, the same ETag and digest as a 200.
@Suite("If-None-Match: 304 on blobs and manifests")
struct ConditionalGetTests {
    @Test("a blob's ETag is its quoted digest; GET and HEAD with it are 304 without a body", arguments: [HTTPRequest.Method.get, .head])
    func blob(_ method: HTTPRequest.Method) async throws {
        try await withRegistry { r in
            let bytes = randomBytes(1000)
            let digest = try await r.pushBlob("alpha", bytes)
            let plain = try await r.send(method, "/v2/alpha/blobs/\(digest)")
            #expect(plain.status == .ok)
            let etag = try #require(plain.headers[.eTag])
            #expect(etag == "\"\(digest)\"")

            for condition in [etag, "W/\(etag)", "*", "\"sha256:\(String(repeating: "0", count: 64))\", \(etag)"] {
                let response = try await r.send(method, "/v2/alpha/blobs/\(digest)", headers: [.ifNoneMatch: condition])
                #expect(response.status == .notModified, "If-None-Match: \(condition)")
                #expect(response.headers[.eTag] == etag)
                #expect(response.headers[Header.contentDigest] == digest)
                #expect(response.body.readableBytes == 0)
            }
            // Another tag: the blob, whole.
            let other = try await r.send(method, "/v2/alpha/blobs/\(digest)", headers: [.ifNoneMatch: "\"\(unknownDigest())\""])
            #expect(other.status == .ok)
            #expect(other.headers[.contentLength] == "1000")
            if method == .get { #expect(other.bytes == bytes) }
        }
    }

    @Test("If-None-Match is checked before Range: a matching tag is 304, not 206")
    func beforeRange() async throws {
        try await withRegistry { r in
            let digest = try await r.pushBlob("alpha", randomBytes(1000))
            let response = try await r.get("/v2/alpha/blobs/\(digest)", headers: [.ifNoneMatch: "\"\(digest)\"", .range: "bytes=0-9"])
            #expect(response.status == .notModified)
            #expect(response.body.readableBytes == 0)
            let unmatched = try await r.get("/v2/alpha/blobs/\(digest)", headers: [.ifNoneMatch: "\"other\"", .range: "bytes=0-9"])
            #expect(unmatched.status == .partialContent)
        }
    }

    @Test("If-None-Match: * is 304 for a blob or manifest that exists and 404 for one that does not")
    func star() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: "v1")
            #expect(try await r.get("/v2/alpha/blobs/\(image.layers[0].digest)", headers: [.ifNoneMatch: "*"]).status == .notModified)
            #expect(try await r.get("/v2/alpha/manifests/v1", headers: [.ifNoneMatch: "*"]).status == .notModified)
            expectError(try await r.get("/v2/alpha/blobs/\(unknownDigest())", headers: [.ifNoneMatch: "*"]), .notFound, "BLOB_UNKNOWN")
            expectError(try await r.get("/v2/alpha/manifests/nosuchtag", headers: [.ifNoneMatch: "*"]), .notFound, "MANIFEST_UNKNOWN")
        }
    }

    @Test("a manifest's ETag is its quoted digest, by tag and by digest; with it GET and HEAD are 304",
          arguments: [HTTPRequest.Method.get, .head])
    func manifest(_ method: HTTPRequest.Method) async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: "v1")
            let etag = "\"\(image.digest)\""
            for reference in ["v1", image.digest] {
                let plain = try await r.send(method, "/v2/alpha/manifests/\(reference)")
                #expect(plain.status == .ok)
                #expect(plain.headers[.eTag] == etag)
                for condition in [etag, "W/\(etag)", "*", "\"x\", \(etag)"] {
                    let response = try await r.send(method, "/v2/alpha/manifests/\(reference)", headers: [.ifNoneMatch: condition])
                    #expect(response.status == .notModified, "\(reference), If-None-Match: \(condition)")
                    #expect(response.headers[.eTag] == etag)
                    #expect(response.headers[Header.contentDigest] == image.digest)
                    #expect(response.body.readableBytes == 0)
                }
            }
        }
    }

    @Test("a tag's ETag is 304 until the tag moves; then the old ETag gets the new manifest (200) and its ETag")
    func tagMoved() async throws {
        try await withRegistry { r in
            let old = try await r.pushImage("alpha", tag: "latest")
            let current = try await r.get("/v2/alpha/manifests/latest", headers: [.ifNoneMatch: "\"\(old.digest)\""])
            #expect(current.status == .notModified)
            let new = try await r.pushImage("alpha", tag: "latest")
            let moved = try await r.get("/v2/alpha/manifests/latest", headers: [.ifNoneMatch: "\"\(old.digest)\""])
            #expect(moved.status == .ok)
            #expect(moved.headers[.eTag] == "\"\(new.digest)\"")
            #expect(moved.bytes == new.manifest)
        }
    }

    @Test("on the wire a 304 has no Content-Length and no body, and the connection carries on")
    func wire() async throws {
        try await withRegistry { r in
            let digest = try await r.pushBlob("alpha", randomBytes(100))
            let port = try #require(r.client.port)
            let responses = try await onThread {
                let connection = try RawHTTPConnection(port: port)
                try connection.send("GET /v2/alpha/blobs/\(digest) HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"\(digest)\"\r\n\r\n")
                let first = try connection.readResponse()
                try connection.send("GET /v2/alpha/blobs/\(digest) HTTP/1.1\r\nHost: x\r\n\r\n")
                return (first, try connection.readResponse())
            }
            #expect(responses.0.status == 304)
            #expect(responses.0.header("Content-Length") == nil)
            #expect(responses.0.header("Transfer-Encoding") == nil)
            #expect(responses.0.body.isEmpty)
            #expect(responses.1.status == 200)
            #expect(responses.1.header("Content-Length") == "100")
        }
    }
}
