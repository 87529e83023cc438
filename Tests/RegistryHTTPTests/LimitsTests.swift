import Foundation
import HTTPTypes
import HummingbirdTesting
import RegistryCore
import Testing
import TestSupport

/// Files in the store's uploads/ directory: a refused upload must leave none behind.
private func uploadFiles(_ registry: Registry) -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: registry.paths.uploadsDirectory)) ?? []
}

@Suite("Limits: blob size, concurrent uploads, upload session timeout")
struct LimitsTests {
    static let limit = 64 * 1024

    static func limited(_ cfg: inout RegistryConfiguration) {
        cfg.limits.maxBlobSize = Int64(limit)
    }

    @Test("a monolithic upload over storage.max_blob_size is 413 SIZE_INVALID and leaves no blob and no session")
    func monolithicTooLarge() async throws {
        try await withLiveRegistry(configure: Self.limited) { registry, r in
            let bytes = randomBytes(Self.limit + 1)
            let digest = sha256(bytes)
            let response = try await r.send(.post, "/v2/big/blobs/uploads/?digest=\(digest)", body: bytes)
            expectError(response, .contentTooLarge, "SIZE_INVALID")
            #expect(response.text.contains("\(Self.limit) bytes"), "the limit is named: \(response.text)")
            expectHeadError(try await r.head("/v2/big/blobs/\(digest)"), .notFound)
            #expect(uploadFiles(registry).isEmpty)
            // Exactly at the limit is accepted.
            try await r.pushBlob("big", randomBytes(Self.limit))
        }
    }

    @Test("a chunk that would carry a session past the limit is refused; the session keeps what it had")
    func chunkedTooLarge() async throws {
        try await withLiveRegistry(configure: Self.limited) { _, r in
            let bytes = randomBytes(Self.limit + 100)
            let location = try await r.startUpload("big")
            let first = try await r.send(.patch, location, headers: [.contentRange: "0-39999"], body: Array(bytes[0..<40000]))
            #expect(first.status == .accepted)
            let second = try await r.send(.patch, location, headers: [.contentRange: "40000-\(bytes.count - 1)"], body: Array(bytes[40000...]))
            expectError(second, .contentTooLarge, "SIZE_INVALID")
            // The same bytes as the body of the final PUT.
            let put = try await r.send(.put, "\(location)?digest=\(sha256(bytes))", body: Array(bytes[40000...]))
            expectError(put, .contentTooLarge, "SIZE_INVALID")
            let status = try await r.get(location)
            #expect(status.status == .noContent && status.headers[.range] == "0-39999", "the session is as before the refused chunks")
            expectHeadError(try await r.head("/v2/big/blobs/\(sha256(bytes))"), .notFound)
        }
    }

    @Test("a body over the limit is refused as soon as the limit is crossed, before the body ends")
    func refusedWhileStreaming() async throws {
        try await withLiveRegistry(configure: Self.limited) { registry, r in
            let port = try #require(r.client.port)
            let digest = unknownDigest()
            // A declared length over the limit: refused from the headers, no body sent at all.
            let declared = try await onThread {
                let connection = try RawHTTPConnection(port: port)
                try connection.sendHead("POST", "/v2/big/blobs/uploads/?digest=\(digest)", ["Content-Length: \(10 << 30)"])
                return try connection.readResponse()
            }
            #expect(declared.status == 413 && declared.text.contains("SIZE_INVALID"), "\(declared.head)\n\(declared.text)")
            // A chunked body of unknown length: refused at the chunk that crosses the
            // limit, while the client has not finished (it never sends the last chunk).
            let streamed = try await onThread {
                let connection = try RawHTTPConnection(port: port)
                try connection.sendHead("POST", "/v2/big/blobs/uploads/?digest=\(digest)", ["Transfer-Encoding: chunked"])
                for _ in 0..<5 { try? connection.sendChunk(randomBytes(16 * 1024)) }
                return try connection.readResponse()
            }
            #expect(streamed.status == 413 && streamed.text.contains("SIZE_INVALID"), "\(streamed.head)\n\(streamed.text)")
            expectHeadError(try await r.head("/v2/big/blobs/\(digest)"), .notFound)
            #expect(uploadFiles(registry).isEmpty)
        }
    }

    @Test("past storage.max_concurrent_uploads, POST gets 429 TOOMANYREQUESTS with Retry-After until an upload ends")
    func concurrentUploads() async throws {
        try await withLiveRegistry(configure: { $0.limits.maxConcurrentUploads = 1 }) { _, r in
            let port = try #require(r.client.port)
            let location = try await r.startUpload("busy")
            let bytes = randomBytes(2048)
            // One upload is receiving data: its body is held open after 100 bytes.
            let connection = try RawHTTPConnection(port: port)
            try await onThread {
                try connection.sendHead("PATCH", location, ["Content-Length: \(bytes.count)"])
                try connection.send(Array(bytes[0..<100]))
            }
            var refused: TestResponse?
            for _ in 0..<100 {
                let response = try await r.send(.post, "/v2/busy/blobs/uploads/")
                if response.status == .tooManyRequests { refused = response; break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let response = try #require(refused, "a second upload was never refused")
            expectError(response, .tooManyRequests, "TOOMANYREQUESTS")
            #expect(response.headers[.retryAfter] != nil)
            // The held upload is never refused: it finishes, and the slot is free again.
            let finished = try await onThread {
                try connection.send(Array(bytes[100...]))
                return try connection.readResponse()
            }
            #expect(finished.status == 202, "\(finished.head)")
            #expect(try await r.send(.post, "/v2/busy/blobs/uploads/").status == .accepted)
            try await r.pushBlob("busy", randomBytes(100))
        }
    }

    @Test("an upload session idle longer than gc.upload_timeout answers 404 BLOB_UPLOAD_UNKNOWN")
    func expiredSession() async throws {
        // Margins that hold on a loaded 2-core machine (where one request can take
        // seconds): 10 s of idleness expires a session, chunks 2 s apart keep one alive.
        try await withLiveRegistry(configure: { $0.uploadTimeout = .seconds(10) }) { _, r in
            let idle = try await r.startUpload("slow")
            #expect(try await r.send(.patch, idle, body: randomBytes(10)).status == .accepted)
            // A session in use stays alive: each chunk restarts its idle time.
            let active = try await r.startUpload("slow")
            for offset in stride(from: 0, to: 60, by: 10) {
                try await Task.sleep(for: .seconds(2))
                let patch = try await r.send(.patch, active, headers: [.contentRange: "\(offset)-\(offset + 9)"], body: randomBytes(10))
                #expect(patch.status == .accepted, "\(patch.text)")
            }
            // The other one, idle for 12 s, is gone for every request.
            expectError(try await r.get(idle), .notFound, "BLOB_UPLOAD_UNKNOWN")
            expectError(try await r.send(.patch, idle, body: randomBytes(10)), .notFound, "BLOB_UPLOAD_UNKNOWN")
            let bytes = randomBytes(10)
            expectError(try await r.send(.put, "\(idle)?digest=\(sha256(bytes))", body: bytes), .notFound, "BLOB_UPLOAD_UNKNOWN")
        }
    }
}
