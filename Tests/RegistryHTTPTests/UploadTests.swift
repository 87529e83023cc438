import HTTPTypes
import HummingbirdTesting
import Testing
import TestSupport

@Suite("Blob uploads: monolithic, chunked, streamed, status, cancel, mount")
struct UploadTests {
    @Test("monolithic POST ?digest= is 201 with Location and Docker-Content-Digest")
    func monolithic() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(4096)
            let digest = sha256(bytes)
            let response = try await r.send(.post, "/v2/alpha/blobs/uploads/?digest=\(digest)",
                                            headers: [.contentType: "application/octet-stream"], body: bytes)
            #expect(response.status == .created)
            #expect(response.headers[.location] == "/v2/alpha/blobs/\(digest)")
            #expect(response.headers[Header.contentDigest] == digest)
            let location = try #require(response.headers[.location])
            #expect(try await r.get(location).bytes == bytes)
        }
    }

    @Test("POST to blobs/uploads without the trailing slash works the same")
    func postWithoutSlash() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(64)
            let session = try await r.send(.post, "/v2/alpha/blobs/uploads")
            #expect(session.status == .accepted)
            #expect(session.headers[.location]?.hasPrefix("/v2/alpha/blobs/uploads/") == true)
            let monolithic = try await r.send(.post, "/v2/alpha/blobs/uploads?digest=\(sha256(bytes))", body: bytes)
            #expect(monolithic.status == .created)
            #expect(try await r.get("/v2/alpha/blobs/\(sha256(bytes))").bytes == bytes)
        }
    }

    @Test("a percent-encoded digest in the query is understood")
    func percentEncodedDigest() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(64)
            let digest = sha256(bytes)
            let encoded = digest.replacingOccurrences(of: ":", with: "%3A")
            let response = try await r.send(.post, "/v2/alpha/blobs/uploads/?digest=\(encoded)", body: bytes)
            #expect(response.status == .created)
            #expect(response.headers[Header.contentDigest] == digest)
        }
    }

    @Test("POST opens a session (202, Location, Docker-Upload-UUID), PUT ?digest= with the body completes it")
    func postThenPut() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(3000)
            let digest = sha256(bytes)
            let start = try await r.send(.post, "/v2/alpha/blobs/uploads/")
            #expect(start.status == .accepted)
            let location = try #require(start.headers[.location])
            let uuid = try #require(start.headers[Header.uploadUUID])
            #expect(location == "/v2/alpha/blobs/uploads/\(uuid)")
            #expect(start.headers[.range] == "0-0")

            let put = try await r.send(.put, "\(location)?digest=\(digest)", headers: [.contentType: "application/octet-stream"], body: bytes)
            #expect(put.status == .created)
            #expect(put.headers[.location] == "/v2/alpha/blobs/\(digest)")
            #expect(put.headers[Header.contentDigest] == digest)
            #expect(try await r.get("/v2/alpha/blobs/\(digest)").bytes == bytes)
            // The session is gone once completed.
            expectError(try await r.get(location), .notFound, "BLOB_UPLOAD_UNKNOWN")
        }
    }

    @Test("chunked PATCHes with Content-Range, then PUT ?digest= without a body")
    func chunked() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(1000)
            let digest = sha256(bytes)
            var location = try await r.startUpload("alpha")
            for (start, end) in [(0, 99), (100, 549), (550, 999)] {
                let patch = try await r.send(.patch, location, headers: [.contentRange: "\(start)-\(end)", .contentType: "application/octet-stream"],
                                             body: Array(bytes[start...end]))
                #expect(patch.status == .accepted)
                #expect(patch.headers[.range] == "0-\(end)")
                #expect(patch.headers[Header.uploadUUID] != nil)
                location = try #require(patch.headers[.location])
            }
            let put = try await r.send(.put, "\(location)?digest=\(digest)")
            #expect(put.status == .created)
            #expect(put.headers[Header.contentDigest] == digest)
            let get = try await r.get("/v2/alpha/blobs/\(digest)")
            #expect(get.headers[.contentLength] == "1000")
            #expect(get.bytes == bytes)
        }
    }

    @Test("a chunk that skips ahead is 416 with the current Range, and the session goes on")
    func outOfOrderChunk() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(300)
            let location = try await r.startUpload("alpha")
            #expect(try await r.send(.patch, location, headers: [.contentRange: "0-99"], body: Array(bytes[0...99])).status == .accepted)

            let skip = try await r.send(.patch, location, headers: [.contentRange: "200-299"], body: Array(bytes[200...299]))
            expectError(skip, .rangeNotSatisfiable, "RANGE_INVALID")
            #expect(skip.headers[.range] == "0-99")

            let status = try await r.get(location)
            #expect(status.status == .noContent)
            #expect(status.headers[.range] == "0-99")

            #expect(try await r.send(.patch, location, headers: [.contentRange: "100-299"], body: Array(bytes[100...299])).status == .accepted)
            #expect(try await r.send(.put, "\(location)?digest=\(sha256(bytes))").status == .created)
            #expect(try await r.get("/v2/alpha/blobs/\(sha256(bytes))").bytes == bytes)
        }
    }

    @Test("a chunk that overlaps stored bytes is 416, and the session goes on")
    func overlappingChunk() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(200)
            let location = try await r.startUpload("alpha")
            #expect(try await r.send(.patch, location, headers: [.contentRange: "0-99"], body: Array(bytes[0...99])).status == .accepted)

            let overlap = try await r.send(.patch, location, headers: [.contentRange: "50-149"], body: Array(bytes[50...149]))
            expectError(overlap, .rangeNotSatisfiable, "RANGE_INVALID")
            #expect(overlap.headers[.range] == "0-99")
            // Resending the first chunk is an overlap as well.
            let again = try await r.send(.patch, location, headers: [.contentRange: "0-99"], body: Array(bytes[0...99]))
            expectError(again, .rangeNotSatisfiable, "RANGE_INVALID")

            #expect(try await r.get(location).headers[.range] == "0-99")
            #expect(try await r.send(.patch, location, headers: [.contentRange: "100-199"], body: Array(bytes[100...199])).status == .accepted)
            #expect(try await r.send(.put, "\(location)?digest=\(sha256(bytes))").status == .created)
            #expect(try await r.get("/v2/alpha/blobs/\(sha256(bytes))").bytes == bytes)
        }
    }

    @Test("a chunk whose length differs from its Content-Range is refused and stores nothing")
    func chunkLengthMismatch() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(20)
            let location = try await r.startUpload("alpha")
            #expect(try await r.send(.patch, location, headers: [.contentRange: "0-9"], body: Array(bytes[0..<10])).status == .accepted)
            let short = try await r.send(.patch, location, headers: [.contentRange: "10-29"], body: Array(bytes[10..<20]))
            #expect(short.status == .rangeNotSatisfiable || short.status == .badRequest, "\(short.status)")
            #expect(short.errorCodes?.isEmpty == false)
            let long = try await r.send(.patch, location, headers: [.contentRange: "10-14"], body: Array(bytes[10..<20]))
            #expect(long.status == .rangeNotSatisfiable || long.status == .badRequest, "\(long.status)")
            #expect(try await r.get(location).headers[.range] == "0-9")
            #expect(try await r.send(.put, "\(location)?digest=\(sha256(bytes))", headers: [.contentRange: "10-19"], body: Array(bytes[10..<20])).status == .created)
            #expect(try await r.get("/v2/alpha/blobs/\(sha256(bytes))").bytes == bytes)
        }
    }

    @Test("streamed PATCHes without Content-Range append, then PUT completes")
    func streamed() async throws {
        try await withRegistry { r in
            let first = randomBytes(700), second = randomBytes(300)
            let location = try await r.startUpload("alpha")
            let p1 = try await r.send(.patch, location, headers: [.contentType: "application/octet-stream"], body: first)
            #expect(p1.status == .accepted)
            #expect(p1.headers[.range] == "0-699")
            let p2 = try await r.send(.patch, location, body: second)
            #expect(p2.status == .accepted)
            #expect(p2.headers[.range] == "0-999")
            let digest = sha256(first + second)
            #expect(try await r.send(.put, "\(location)?digest=\(digest)").status == .created)
            #expect(try await r.get("/v2/alpha/blobs/\(digest)").bytes == first + second)
        }
    }

    @Test("GET on a session is 204 with Range 0-(n-1), Location and Docker-Upload-UUID")
    func status() async throws {
        try await withRegistry { r in
            let start = try await r.send(.post, "/v2/alpha/blobs/uploads/")
            let location = try #require(start.headers[.location])
            let uuid = try #require(start.headers[Header.uploadUUID])
            #expect(try await r.send(.patch, location, body: randomBytes(1234)).status == .accepted)
            let status = try await r.get(location)
            #expect(status.status == .noContent)
            #expect(status.headers[.range] == "0-1233")
            #expect(status.headers[.location] == location)
            #expect(status.headers[Header.uploadUUID] == uuid)
            #expect(status.body.readableBytes == 0)
        }
    }

    @Test("DELETE cancels a session: 204, then 404 BLOB_UPLOAD_UNKNOWN")
    func cancel() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(100)
            let location = try await r.startUpload("alpha")
            #expect(try await r.send(.patch, location, body: bytes).status == .accepted)
            #expect(try await r.send(.delete, location).status == .noContent)
            expectError(try await r.get(location), .notFound, "BLOB_UPLOAD_UNKNOWN")
            expectError(try await r.send(.patch, location, body: bytes), .notFound, "BLOB_UPLOAD_UNKNOWN")
            expectError(try await r.send(.put, "\(location)?digest=\(sha256(bytes))"), .notFound, "BLOB_UPLOAD_UNKNOWN")
            expectError(try await r.send(.delete, location), .notFound, "BLOB_UPLOAD_UNKNOWN")
            expectError(try await r.get("/v2/alpha/blobs/\(sha256(bytes))"), .notFound, "BLOB_UNKNOWN")
        }
    }

    @Test("PUT with a digest that does not match is 400 DIGEST_INVALID and stores nothing")
    func wrongDigest() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(500)
            let wrong = unknownDigest()
            let location = try await r.startUpload("alpha")
            expectError(try await r.send(.put, "\(location)?digest=\(wrong)", body: bytes), .badRequest, "DIGEST_INVALID")
            expectError(try await r.get("/v2/alpha/blobs/\(wrong)"), .notFound, "BLOB_UNKNOWN")
            expectError(try await r.get("/v2/alpha/blobs/\(sha256(bytes))"), .notFound, "BLOB_UNKNOWN")
        }
    }

    @Test("monolithic POST with a digest that does not match is 400 DIGEST_INVALID and stores nothing")
    func wrongDigestMonolithic() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(500)
            let wrong = unknownDigest()
            expectError(try await r.send(.post, "/v2/alpha/blobs/uploads/?digest=\(wrong)", body: bytes), .badRequest, "DIGEST_INVALID")
            expectError(try await r.get("/v2/alpha/blobs/\(wrong)"), .notFound, "BLOB_UNKNOWN")
            expectError(try await r.get("/v2/alpha/blobs/\(sha256(bytes))"), .notFound, "BLOB_UNKNOWN")
        }
    }

    @Test("PUT without ?digest= is 400 and the session keeps its bytes")
    func putWithoutDigest() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(100)
            let location = try await r.startUpload("alpha")
            #expect(try await r.send(.patch, location, body: bytes).status == .accepted)
            expectError(try await r.send(.put, location), .badRequest, "DIGEST_INVALID")
            #expect(try await r.get(location).headers[.range] == "0-99")
            #expect(try await r.send(.put, "\(location)?digest=\(sha256(bytes))").status == .created)
        }
    }

    static let unknownIDs = ["0b6a1c9e-4a3f-4d8e-9a51-2f1d3c4b5a69", "not-a-uuid", "..", "%2e%2e%2f%2e%2e"]

    @Test("an unknown or malformed upload id is 404 BLOB_UPLOAD_UNKNOWN", arguments: unknownIDs)
    func unknownUpload(_ id: String) async throws {
        try await withRegistry { r in
            _ = try await r.startUpload("alpha")
            let location = "/v2/alpha/blobs/uploads/\(id)"
            expectError(try await r.get(location), .notFound, "BLOB_UPLOAD_UNKNOWN")
            expectError(try await r.send(.patch, location, body: [1, 2, 3]), .notFound, "BLOB_UPLOAD_UNKNOWN")
            expectError(try await r.send(.put, "\(location)?digest=\(sha256([1, 2, 3]))", body: [1, 2, 3]), .notFound, "BLOB_UPLOAD_UNKNOWN")
            expectError(try await r.send(.delete, location), .notFound, "BLOB_UPLOAD_UNKNOWN")
        }
    }

    @Test("a session belongs to its repository: another repository cannot use it")
    func sessionOfOtherRepository() async throws {
        try await withRegistry { r in
            let location = try await r.startUpload("alpha")
            let id = String(location.split(separator: "/").last!)
            _ = try await r.startUpload("beta")
            expectError(try await r.get("/v2/beta/blobs/uploads/\(id)"), .notFound, "BLOB_UPLOAD_UNKNOWN")
            expectError(try await r.send(.patch, "/v2/beta/blobs/uploads/\(id)", body: [1]), .notFound, "BLOB_UPLOAD_UNKNOWN")
            #expect(try await r.get(location).status == .noContent)
        }
    }

    @Test("mount ?mount=&from= is 201 and the blob is readable in the target")
    func mount() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(321)
            let digest = try await r.pushBlob("source", bytes)
            let response = try await r.send(.post, "/v2/target/blobs/uploads/?mount=\(digest)&from=source")
            #expect(response.status == .created)
            #expect(response.headers[.location] == "/v2/target/blobs/\(digest)")
            #expect(response.headers[Header.contentDigest] == digest)
            let get = try await r.get("/v2/target/blobs/\(digest)")
            #expect(get.status == .ok)
            #expect(get.bytes == bytes)
        }
    }

    @Test("mount from a repository that lacks the blob falls back to a 202 session")
    func mountMissing() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(321)
            let digest = try await r.pushBlob("other", bytes)
            try await r.pushBlob("source", randomBytes(10))
            let response = try await r.send(.post, "/v2/target/blobs/uploads/?mount=\(digest)&from=source")
            #expect(response.status == .accepted)
            #expect(response.headers[Header.uploadUUID] != nil)
            let location = try #require(response.headers[.location])
            #expect(location.hasPrefix("/v2/target/blobs/uploads/"))
            expectError(try await r.get("/v2/target/blobs/\(digest)"), .notFound, "BLOB_UNKNOWN")
            // The session works like any other.
            #expect(try await r.send(.put, "\(location)?digest=\(digest)", body: bytes).status == .created)
            #expect(try await r.get("/v2/target/blobs/\(digest)").bytes == bytes)
        }
    }

    @Test("a Content-Range whose length does not fit in 64 bits is refused, and the session goes on",
          arguments: ["0-9223372036854775807", "bytes 0-9223372036854775807/*"])
    func overflowingContentRange(_ range: String) async throws {
        try await withRegistry { r in
            let bytes = randomBytes(10)
            let location = try await r.startUpload("alpha")
            let patch = try await r.send(.patch, location, headers: [.contentRange: range], body: bytes)
            expectError(patch, .rangeNotSatisfiable, "RANGE_INVALID")
            let put = try await r.send(.put, "\(location)?digest=\(sha256(bytes))", headers: [.contentRange: range], body: bytes)
            expectError(put, .rangeNotSatisfiable, "RANGE_INVALID")
            #expect(try await r.send(.put, "\(location)?digest=\(sha256(bytes))", body: bytes).status == .created)
        }
    }

    @Test("a chunked upload can finish as sha512")
    func chunkedSHA512() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(2000)
            let location = try await r.startUpload("alpha")
            #expect(try await r.send(.patch, location, headers: [.contentRange: "0-999"], body: Array(bytes[0..<1000])).status == .accepted)
            let put = try await r.send(.put, "\(location)?digest=\(sha512(bytes))", headers: [.contentRange: "1000-1999"], body: Array(bytes[1000...]))
            #expect(put.status == .created)
            #expect(put.headers[Header.contentDigest] == sha512(bytes))
            #expect(try await r.get("/v2/alpha/blobs/\(sha512(bytes))").bytes == bytes)
        }
    }

    @Test("uploading bytes the registry already has links them and completes")
    func duplicateUpload() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(256)
            let digest = try await r.pushBlob("alpha", bytes)
            try await r.pushBlob("alpha", bytes)
            try await r.pushBlob("beta", bytes)
            #expect(try await r.get("/v2/alpha/blobs/\(digest)").bytes == bytes)
            #expect(try await r.get("/v2/beta/blobs/\(digest)").bytes == bytes)
        }
    }
}
