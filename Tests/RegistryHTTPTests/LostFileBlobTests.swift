import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import OCI
@testable import RegistryCore
import Testing
import TestSupport

// A blob whose row is there but whose file was lost (a restore from an incomplete
// backup, an operator's `rm`): clients are told it is unknown, and pushing it again
// restores the file inside the upload's write transaction.

/// The sha256 digest of a file's bytes, or nil when there is no file.
private func fileDigest(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { sha256(Array($0)) }
}

extension RegistryClient {
    /// POST a session, PATCH all of `bytes`; returns the Location to PUT to.
    func uploadWithoutFinishing(_ repository: String, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let location = try await startUpload(repository, sourceLocation: sourceLocation)
        let patch = try await send(.patch, location, headers: [.contentType: "application/octet-stream"], body: bytes)
        #expect(patch.status == .accepted, "PATCH: \(patch.text)", sourceLocation: sourceLocation)
        return try #require(patch.headers[.location], sourceLocation: sourceLocation)
    }
}

@Suite("Blobs whose file was lost: unknown to clients, restored by a re-push")
struct LostFileBlobTests {
    @Test("a mount of a blob whose file was lost is refused (202, an upload session), and that upload restores it")
    func mountFallsBackToUpload() async throws {
        try await withLiveRegistry { registry, r in
            let bytes = randomBytes(4000)
            let digest = try await r.pushBlob("source", bytes)
            let path = registry.paths.blob(try #require(Digest(digest)))
            try FileManager.default.removeItem(atPath: path)

            let mount = try await r.send(.post, "/v2/target/blobs/uploads/?mount=\(digest)&from=source")
            #expect(mount.status == .accepted, "a mount must not claim a blob whose bytes are gone: \(mount.status)")
            try await r.pushBlob("target", bytes)
            #expect(fileDigest(path) == digest)
            #expect(sha256(try await r.get("/v2/target/blobs/\(digest)").bytes) == digest)
        }
    }

    @Test("HEAD is 404 and GET is 404 BLOB_UNKNOWN; pushing the blob again restores the file")
    func headGetAndRepush() async throws {
        try await withLiveRegistry { registry, r in
            let bytes = randomBytes(5000)
            let digest = try await r.pushBlob("alpha", bytes)
            let path = registry.paths.blob(try #require(Digest(digest)))
            try FileManager.default.removeItem(atPath: path)

            expectHeadError(try await r.head("/v2/alpha/blobs/\(digest)"), .notFound)
            expectError(try await r.get("/v2/alpha/blobs/\(digest)"), .notFound, "BLOB_UNKNOWN")

            try await r.pushBlob("alpha", bytes)
            #expect(fileDigest(path) == digest)
            #expect(try await r.head("/v2/alpha/blobs/\(digest)").status == .ok)
            #expect(sha256(try await r.get("/v2/alpha/blobs/\(digest)").bytes) == digest)
        }
    }

    @Test("two re-pushes of a lost blob finishing at once both succeed, and the file is whole")
    func concurrentRepushes() async throws {
        try await withLiveRegistry { registry, r in
            let bytes = randomBytes(3 << 20)
            let digest = try await r.pushBlob("alpha", bytes)
            let path = registry.paths.blob(try #require(Digest(digest)))
            for round in 0..<3 {
                try FileManager.default.removeItem(atPath: path)
                let first = try await r.uploadWithoutFinishing("alpha", bytes)
                let second = try await r.uploadWithoutFinishing("beta", bytes)
                async let a = r.send(.put, "\(first)?digest=\(digest)")
                async let b = r.send(.put, "\(second)?digest=\(digest)")
                let (ra, rb) = try await (a, b)
                #expect(ra.status == .created, "round \(round): \(ra.text)")
                #expect(rb.status == .created, "round \(round): \(rb.text)")
                #expect(fileDigest(path) == digest, "round \(round)")
                #expect(sha256(try await r.get("/v2/beta/blobs/\(digest)").bytes) == digest, "round \(round)")
            }
            // Neither session left its bytes behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: registry.paths.uploadsDirectory).isEmpty)
        }
    }

    @Test("a restore that cannot put the file in place fails the request, and the session can finish later")
    func restoreFailureFailsTheRequest() async throws {
        try await withLiveRegistry { registry, r in
            let bytes = randomBytes(4000)
            let digest = try await r.pushBlob("alpha", bytes)
            let blob = try #require(Digest(digest))
            let directory = registry.paths.blobDirectory(blob)
            // The blob's directory is replaced by a plain file: nothing can be created in it
            // (even as root, where permissions would not stop the write).
            try FileManager.default.removeItem(atPath: directory)
            #expect(FileManager.default.createFile(atPath: directory, contents: Data()))

            let location = try await r.uploadWithoutFinishing("alpha", bytes)
            let failed = try await r.send(.put, "\(location)?digest=\(digest)")
            #expect(failed.status.code >= 500, "a blob that is still missing must not be acknowledged: \(failed.status) \(failed.text)")
            expectHeadError(try await r.head("/v2/alpha/blobs/\(digest)"), .notFound)

            // Once the disk is usable again the same session completes and restores the file.
            try FileManager.default.removeItem(atPath: directory)
            let put = try await r.send(.put, "\(location)?digest=\(digest)")
            #expect(put.status == .created, "\(put.text)")
            #expect(fileDigest(registry.paths.blob(blob)) == digest)
            #expect(sha256(try await r.get("/v2/alpha/blobs/\(digest)").bytes) == digest)
        }
    }

    @Test("a restore whose transaction rolls back gives the file back to the session, whole")
    func restoreRollback() async throws {
        try await withLiveRegistry { registry, r in
            let bytes = randomBytes(4000)
            let digest = try await r.pushBlob("alpha", bytes)
            let blob = try #require(Digest(digest))
            let path = registry.paths.blob(blob)
            try FileManager.default.removeItem(atPath: path)
            // The upload's last statement (its audit row) fails, after the file was moved.
            try await registry.database.pool.write { db in
                try db.execute(sql: """
                    CREATE TRIGGER fail_blob_upload BEFORE INSERT ON audit_events WHEN NEW.action = 'blob.upload'
                    BEGIN SELECT RAISE(ABORT, 'injected failure'); END
                    """)
            }
            // A monolithic PUT: on failure its bytes are cut from the session's file, which
            // must not be the blob's file by then.
            let location = try await r.startUpload("alpha")
            let failed = try await r.send(.put, "\(location)?digest=\(digest)",
                                          headers: [.contentType: "application/octet-stream"], body: bytes)
            #expect(failed.status.code >= 500, "\(failed.status) \(failed.text)")
            let leftover = FileManager.default.contents(atPath: path)
            #expect(leftover == nil || fileDigest(path) == digest, "a cut-off blob file was left: \(leftover?.count ?? 0) bytes")
            try await registry.database.pool.write { db in try db.execute(sql: "DROP TRIGGER fail_blob_upload") }

            try await r.pushBlob("alpha", bytes)
            #expect(fileDigest(path) == digest)
            #expect(sha256(try await r.get("/v2/alpha/blobs/\(digest)").bytes) == digest)
        }
    }
}
