import Foundation
import GRDB
import OCI
@testable import RegistryCore
import Testing
import TestSupport

/// What a crashed collector leaves behind, and how `recover()` (run at server start
/// and at every GC run) finishes or undoes it.
@Suite("GC crash recovery")
struct GCRecoveryTests {
    @Test func recoveryRestoresUncommittedAndPurgesCommittedDeletions() async throws {
        let store = try GCStore()
        // Crash before commit: the file was moved to trash, the transaction that
        // deleted the row never committed, so the row (and the manifest using it) remain.
        let image = try await store.pushImage("crash/uncommitted", tag: "v1", layers: [randomBytes(5000)])
        let interrupted = image.layers[0]
        try FileManager.default.moveItem(atPath: store.paths.blob(interrupted), toPath: store.registry.store.trashPath(interrupted))
        // Crash after commit: row gone, journal row and trash file left.
        let committed = try await store.plantCommittedDeletion()

        try await store.collector.recover()

        #expect(store.blobFileExists(interrupted), "a blob whose deletion never committed must be back in blobs/")
        #expect(try store.readBlobFile(interrupted).map { Digest.of($0) } == interrupted)
        try await store.pull(image, tag: "v1")
        #expect(!FileManager.default.fileExists(atPath: store.registry.store.trashPath(committed)), "committed deletion not purged")
        #expect(!store.blobFileExists(committed))
        #expect(try await store.count("SELECT count(*) FROM blob_deletions") == 0, "journal row left behind")
        try await store.expectConsistent()
    }

    /// A committed deletion whose blob was uploaded again before the purge: the purge
    /// removes only the trash file, never the new blob.
    @Test func purgeAfterReUploadKeepsTheNewBlob() async throws {
        let store = try GCStore()
        let bytes = randomBytes(2222)
        let digest = try await store.pushBlob("crash/reupload", bytes)
        try await store.pool.write { db in
            try db.execute(sql: "DELETE FROM repository_blobs WHERE digest = ?", arguments: [digest.description])
            try db.execute(sql: "DELETE FROM blobs WHERE digest = ?", arguments: [digest.description])
            try db.execute(sql: "INSERT INTO blob_deletions(digest, size) VALUES (?, ?)", arguments: [digest.description, bytes.count])
        }
        try FileManager.default.moveItem(atPath: store.paths.blob(digest), toPath: store.registry.store.trashPath(digest))
        try await store.pushBlob("crash/reupload", bytes)

        let report = try await store.gc()

        #expect(report.blobs.isEmpty, "the re-uploaded blob has a fresh lease")
        try await store.expectBlobKept("crash/reupload", digest, "uploaded again after the crashed deletion")
        try await store.expectConsistent()
    }

    /// Every GC run starts with recovery: a crashed run's leftovers are gone after the next.
    @Test func nextRunRecoversBeforeCollecting() async throws {
        let store = try GCStore()
        let image = try await store.pushImage("crash/next", tag: "v1", layers: [randomBytes(5000)])
        try FileManager.default.moveItem(atPath: store.paths.blob(image.layers[0]), toPath: store.registry.store.trashPath(image.layers[0]))
        _ = try await store.plantCommittedDeletion()

        _ = try await store.gc(deleteUntagged: true)

        try await store.pull(image, tag: "v1")
        try await store.expectConsistent()
    }
}
