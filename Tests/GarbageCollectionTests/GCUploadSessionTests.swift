import Foundation
import OCI
import RegistryCore
import Testing
import TestSupport

/// Upload sessions a client abandoned: GC removes the row and the bytes once the
/// session has been idle past the upload timeout, and leaves active ones alone.
@Suite("GC of upload sessions")
struct GCUploadSessionTests {
    @Test func sessionsIdlePastTimeoutAreRemovedRowAndFile() async throws {
        let store = try GCStore()
        let repository = try store.repo("uploads")
        let idle = try await store.registry.startUpload(repository, audit: store.audit)
        _ = try await store.registry.appendUpload(repository, idle, chunk: UploadChunk(), body: UploadBody(randomBytes(5000)))
        let active = try await store.registry.startUpload(repository, audit: store.audit)
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE uploads SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '-2 hours') WHERE id = ?",
                           arguments: [idle.value])
        }
        #expect(FileManager.default.fileExists(atPath: store.paths.upload(idle)))

        let report = try await store.gc(uploadTimeout: .seconds(3600))

        #expect(report.uploads == [idle.value])
        #expect(try await store.count("SELECT count(*) FROM uploads WHERE id = ?", [idle.value]) == 0)
        #expect(!FileManager.default.fileExists(atPath: store.paths.upload(idle)), "the idle session's bytes are still on disk")
        await #expect(throws: RegistryError.uploadUnknown(idle.value)) {
            _ = try await store.registry.uploadSize(repository, idle)
        }
        #expect(try await store.count("SELECT count(*) FROM uploads WHERE id = ?", [active.value]) == 1)
        #expect(FileManager.default.fileExists(atPath: store.paths.upload(active)), "an active session lost its file")
        #expect(try await store.count("SELECT uploads_deleted FROM gc_runs WHERE id = ?", [report.runID]) == 1)
        #expect(report.uploadBytes == 5000)
        #expect(try await store.count("""
            SELECT count(*) FROM audit_events WHERE gc_run_id = ? AND actor = 'gc' AND action = 'gc.upload.delete'
              AND repository = 'uploads' AND size = 5000
            """, [report.runID]) == 1, "the removed session is an audit row")

        // The active session still completes into a blob.
        let bytes = randomBytes(100)
        _ = try await store.registry.finishUpload(repository, active, digest: Digest.of(bytes), body: UploadBody(bytes), audit: store.audit)
        try await store.expectBlobKept("uploads", Digest.of(bytes), "uploaded after the run")
    }
}
