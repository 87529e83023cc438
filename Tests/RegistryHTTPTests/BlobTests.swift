import HTTPTypes
import HummingbirdTesting
import Testing
import TestSupport

@Suite("Blobs: HEAD, GET, Range, DELETE")
struct BlobTests {
    @Test("HEAD gives size and digest without a body; GET gives the exact bytes")
    func headAndGet() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(1000)
            let digest = try await r.pushBlob("alpha", bytes)

            let head = try await r.head("/v2/alpha/blobs/\(digest)")
            #expect(head.status == .ok)
            #expect(head.headers[.contentLength] == "1000")
            #expect(head.headers[Header.contentDigest] == digest)
            #expect(head.body.readableBytes == 0)

            let get = try await r.get("/v2/alpha/blobs/\(digest)")
            #expect(get.status == .ok)
            #expect(get.headers[.contentLength] == "1000")
            #expect(get.headers[Header.contentDigest] == digest)
            #expect(get.bytes == bytes)
        }
    }

    @Test("the empty blob uploads and reads back with Content-Length 0")
    func emptyBlob() async throws {
        try await withRegistry { r in
            let digest = try await r.pushBlob("alpha", [])
            #expect(digest == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            let head = try await r.head("/v2/alpha/blobs/\(digest)")
            #expect(head.status == .ok)
            #expect(head.headers[.contentLength] == "0")
            let get = try await r.get("/v2/alpha/blobs/\(digest)")
            #expect(get.status == .ok)
            #expect(get.headers[.contentLength] == "0")
            #expect(get.bytes == [])
        }
    }

    @Test("a blob larger than the server's read buffer streams back intact")
    func largeBlob() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(3 * 1024 * 1024 + 17)
            let digest = try await r.pushBlob("big", bytes)
            let get = try await r.get("/v2/big/blobs/\(digest)")
            #expect(get.status == .ok)
            #expect(get.headers[.contentLength] == String(bytes.count))
            #expect(get.bytes == bytes)
            // A range that crosses a 512 KiB read boundary.
            let ranged = try await r.get("/v2/big/blobs/\(digest)", headers: [.range: "bytes=524000-1049000"])
            #expect(ranged.status == .partialContent)
            #expect(ranged.headers[.contentRange] == "bytes 524000-1049000/\(bytes.count)")
            #expect(ranged.bytes == Array(bytes[524000...1049000]))
        }
    }

    static let ranges: [(header: String, start: Int, end: Int)] = [
        ("bytes=10-19", 10, 19),
        ("bytes=0-0", 0, 0),
        ("bytes=990-", 990, 999),
        ("bytes=-5", 995, 999),
        ("bytes=995-5000", 995, 999),
        ("bytes=-5000", 0, 999),
    ]

    @Test("Range gives 206 with Content-Range and exactly those bytes", arguments: ranges.indices)
    func range(_ index: Int) async throws {
        let (header, start, end) = Self.ranges[index]
        try await withRegistry { r in
            let bytes = randomBytes(1000)
            let digest = try await r.pushBlob("alpha", bytes)
            let response = try await r.get("/v2/alpha/blobs/\(digest)", headers: [.range: header])
            #expect(response.status == .partialContent, "\(header)")
            #expect(response.headers[.contentRange] == "bytes \(start)-\(end)/1000", "\(header)")
            #expect(response.headers[.contentLength] == String(end - start + 1), "\(header)")
            #expect(response.bytes == Array(bytes[start...end]), "\(header)")
            #expect(response.headers[Header.contentDigest] == digest)
        }
    }

    @Test("an unsatisfiable Range is 416 with Content-Range: bytes */size", arguments: ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
    func unsatisfiable(_ header: String) async throws {
        try await withRegistry { r in
            let digest = try await r.pushBlob("alpha", randomBytes(1000))
            let response = try await r.get("/v2/alpha/blobs/\(digest)", headers: [.range: header])
            expectError(response, .rangeNotSatisfiable, "RANGE_INVALID")
            #expect(response.headers[.contentRange] == "bytes */1000")
        }
    }

    @Test("a blob nobody pushed is 404 BLOB_UNKNOWN (GET) and 404 without body (HEAD)")
    func unknownBlob() async throws {
        try await withRegistry { r in
            try await r.pushBlob("alpha", randomBytes(10))
            let digest = unknownDigest()
            expectError(try await r.get("/v2/alpha/blobs/\(digest)"), .notFound, "BLOB_UNKNOWN")
            expectHeadError(try await r.head("/v2/alpha/blobs/\(digest)"), .notFound)
            expectError(try await r.get("/v2/nosuchrepo/blobs/\(digest)"), .notFound, "BLOB_UNKNOWN")
        }
    }

    @Test("a blob of another repository is not readable without a link")
    func otherRepository() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(100)
            let digest = try await r.pushBlob("alpha", bytes)
            try await r.pushBlob("beta", randomBytes(100))
            expectError(try await r.get("/v2/beta/blobs/\(digest)"), .notFound, "BLOB_UNKNOWN")
            expectHeadError(try await r.head("/v2/beta/blobs/\(digest)"), .notFound)
            // Pushing the same bytes to beta links them there.
            try await r.pushBlob("beta", bytes)
            #expect(try await r.get("/v2/beta/blobs/\(digest)").bytes == bytes)
        }
    }

    @Test("DELETE is 202, then the blob is 404 in that repository only")
    func delete() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(100)
            let digest = try await r.pushBlob("alpha", bytes)
            try await r.pushBlob("beta", bytes)
            let response = try await r.send(.delete, "/v2/alpha/blobs/\(digest)")
            #expect(response.status == .accepted)
            expectError(try await r.get("/v2/alpha/blobs/\(digest)"), .notFound, "BLOB_UNKNOWN")
            expectHeadError(try await r.head("/v2/alpha/blobs/\(digest)"), .notFound)
            // A second delete finds nothing.
            expectError(try await r.send(.delete, "/v2/alpha/blobs/\(digest)"), .notFound, "BLOB_UNKNOWN")
            // beta's link is untouched.
            let beta = try await r.get("/v2/beta/blobs/\(digest)")
            #expect(beta.status == .ok)
            #expect(beta.bytes == bytes)
        }
    }

    @Test("DELETE of a blob a manifest references is 409 and the blob stays")
    func deleteReferenced() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha")
            let layer = image.layers[0].digest
            let response = try await r.send(.delete, "/v2/alpha/blobs/\(layer)")
            expectError(response, .conflict, "DENIED")
            #expect(response.text.contains(image.digest))
            #expect(try await r.get("/v2/alpha/blobs/\(layer)").bytes == image.layerBytes[0])
            expectError(try await r.send(.delete, "/v2/alpha/blobs/\(image.config.digest)"), .conflict, "DENIED")
        }
    }

    @Test("sha512 blobs upload and read back under their sha512 digest")
    func sha512Blob() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(777)
            let digest = sha512(bytes)
            let push = try await r.send(.post, "/v2/alpha/blobs/uploads/?digest=\(digest)", body: bytes)
            #expect(push.status == .created)
            #expect(push.headers[Header.contentDigest] == digest)
            #expect(push.headers[.location] == "/v2/alpha/blobs/\(digest)")
            let head = try await r.head("/v2/alpha/blobs/\(digest)")
            #expect(head.status == .ok)
            #expect(head.headers[Header.contentDigest] == digest)
            #expect(head.headers[.contentLength] == "777")
            #expect(try await r.get("/v2/alpha/blobs/\(digest)").bytes == bytes)
            // The same bytes are not known under their sha256 digest.
            expectError(try await r.get("/v2/alpha/blobs/\(sha256(bytes))"), .notFound, "BLOB_UNKNOWN")
        }
    }

    @Test("a malformed or unsupported digest in the path is 400 DIGEST_INVALID",
          arguments: ["sha256:abc", "sha256:" + String(repeating: "A", count: 64), "md5:d41d8cd98f00b204e9800998ecf8427e", "notadigest"])
    func invalidDigest(_ digest: String) async throws {
        try await withRegistry { r in
            expectError(try await r.get("/v2/alpha/blobs/\(digest)"), .badRequest, "DIGEST_INVALID")
        }
    }
}
