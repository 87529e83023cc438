import Foundation
import OCI
import RegistryCore
import Testing

/// A kill during `POST /blobs/uploads/` leaves an empty file in `uploads/` with no
/// session row (the file is created first). Every GC run and recovery at start remove
/// such files once older than the delay, so `registry check` stays clean without
/// `--full` or `--repair`.
@Suite("GC of upload files without a session")
struct GCOrphanUploadTests {
    /// What the kill leaves: an empty upload file, no row, last written `age` seconds ago.
    private func plantKilledUpload(_ store: GCStore, age: Double) throws -> String {
        let path = store.paths.upload(UploadID.make())
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        try store.age(path, seconds: age)
        return path
    }

    private func orphanUploadProblems(_ store: GCStore) async throws -> [String] {
        let report = try await StoreChecker(registry: store.registry).check(CheckOptions(recentWindow: store.registry.configuration.gcDelay))
        return report.problems(.orphanUploadFile).compactMap(\.path)
    }

    @Test func aNormalRunRemovesOldUploadFilesWithoutASession() async throws {
        let store = try GCStore(gcDelay: .seconds(3600))
        let killed = try plantKilledUpload(store, age: 7200)
        let young = try plantKilledUpload(store, age: 0)
        let repository = try store.repo("uploads")
        let session = try await store.registry.startUpload(repository, audit: store.audit)
        try store.age(store.paths.upload(session), seconds: 7200)
        #expect(try await orphanUploadProblems(store) == [killed])

        let dry = try await store.gc(dryRun: true, delay: .seconds(3600))
        #expect(dry.orphanFiles == [killed])
        #expect(FileManager.default.fileExists(atPath: killed), "a dry run removed a file")

        let report = try await store.gc(delay: .seconds(3600))

        #expect(!report.fullScan && report.orphanFiles == [killed])
        #expect(!FileManager.default.fileExists(atPath: killed), "the killed upload's file is still in uploads/")
        #expect(FileManager.default.fileExists(atPath: young), "a file younger than the delay may be a POST in progress")
        #expect(FileManager.default.fileExists(atPath: store.paths.upload(session)), "a session's file was removed")
        #expect(try await store.count("SELECT orphan_files_deleted FROM gc_runs WHERE id = ?", [report.runID]) == 1)
        #expect(try await store.count("""
            SELECT count(*) FROM audit_events WHERE gc_run_id = ? AND actor = 'gc' AND action = 'gc.orphan.delete' AND size = 0
            """, [report.runID]) == 1, "the removal is an audit row")
        #expect(try await orphanUploadProblems(store).isEmpty, "registry check still reports orphan_upload_file")
        _ = try await store.registry.uploadSize(repository, session)
    }

    @Test func recoveryAtStartRemovesThemToo() async throws {
        let store = try GCStore(gcDelay: .seconds(60))
        let killed = try plantKilledUpload(store, age: 120)
        let young = try plantKilledUpload(store, age: 0)

        // What `registry serve` runs before it listens.
        let removed = try await store.collector.recover()

        #expect(removed.map(\.path) == [killed])
        #expect(!FileManager.default.fileExists(atPath: killed))
        #expect(FileManager.default.fileExists(atPath: young))
        #expect(try await store.count("""
            SELECT count(*) FROM audit_events WHERE actor = 'gc' AND action = 'gc.orphan.delete' AND gc_run_id IS NULL
            """) == 1)
        #expect(try await orphanUploadProblems(store).isEmpty)
    }
}
