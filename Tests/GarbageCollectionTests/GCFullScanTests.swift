import Foundation
import OCI
import RegistryCore
import Testing
import TestSupport

/// `--full`: the one mode that walks the blob store. It removes files no row describes and
/// reports rows whose file is missing (corruption: reported, never "fixed" by deleting).
@Suite("GC full scan")
struct GCFullScanTests {
    @Test func fullScanRemovesOrphanFilesAndReportsMissingFiles() async throws {
        let store = try GCStore()
        let image = try await store.pushImage("full", tag: "v1", layers: [randomBytes(1000), randomBytes(1001)])
        let orphan = try store.plantOrphanFile(ageSeconds: 7200)
        let youngOrphan = try store.plantOrphanFile(ageSeconds: 0)
        let orphanUpload = store.paths.upload(UploadID.make())
        #expect(FileManager.default.createFile(atPath: orphanUpload, contents: Data(randomBytes(100))))
        try store.age(orphanUpload, seconds: 7200)
        let lost = image.layers[0]
        try FileManager.default.removeItem(atPath: store.paths.blob(lost))

        // Every run lists uploads/ (small); only --full walks blobs/.
        let normal = try await store.gc(deleteUntagged: true, delay: .seconds(60))
        #expect(normal.orphanFiles == [orphanUpload] && normal.missingBlobFiles.isEmpty, "only --full walks blobs/")
        #expect(FileManager.default.fileExists(atPath: orphan))
        #expect(!FileManager.default.fileExists(atPath: orphanUpload), "orphan upload file still on disk")

        let full = try await store.gc(deleteUntagged: true, full: true, delay: .seconds(60))

        #expect(full.orphanFiles == [orphan])
        #expect(!FileManager.default.fileExists(atPath: orphan), "orphan blob file still on disk")
        #expect(FileManager.default.fileExists(atPath: youngOrphan), "a file younger than the delay may be a push in progress")
        #expect(full.missingBlobFiles == [lost.description])
        #expect(try await store.blobRowExists(lost), "a row whose file is missing is reported, not deleted")
        #expect(try await store.count("SELECT orphan_files_deleted FROM gc_runs WHERE id = ?", [full.runID]) == 1)
        #expect(full.orphanBytes == 1234)
        #expect(try await store.count("""
            SELECT count(*) FROM audit_events WHERE gc_run_id IN (?, ?) AND actor = 'gc' AND action = 'gc.orphan.delete'
            """, [normal.runID, full.runID]) == 2, "every removed file is an audit row")
        #expect(try await store.count("SELECT bytes_reclaimed FROM gc_runs WHERE id = ?", [full.runID]) == 1234)
        for blob in image.blobs where blob.digest != lost {
            try await store.expectBlobKept("full", blob.digest, "the image is tagged")
        }
    }

    /// An orphan file whose blob is uploaded again is replaced by the verified bytes
    /// and then belongs to its row: the next full scan leaves it.
    @Test func reUploadOverAnOrphanFileAdoptsIt() async throws {
        let store = try GCStore()
        let bytes = randomBytes(1234)
        let digest = Digest.of(bytes)
        try FileManager.default.createDirectory(atPath: store.paths.blobDirectory(digest), withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: store.paths.blob(digest), contents: Data(randomBytes(10))))
        try store.age(store.paths.blob(digest), seconds: 7200)

        try await store.pushBlob("adopt", bytes)
        let report = try await store.gc(full: true, delay: .seconds(60))

        #expect(report.orphanFiles.isEmpty)
        #expect(try store.readBlobFile(digest) == bytes, "the blob file holds the verified upload")
    }
}
