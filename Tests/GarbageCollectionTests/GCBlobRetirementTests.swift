import Foundation
import GRDB
import OCI
@testable import RegistryCore
import Testing
import TestSupport

/// `Registry.retireBlobs`, the one way a blob file leaves `blobs/`, as the orphan
/// removal of `registry-gc --full` and `registry check --repair` uses it: re-checked
/// under the write lock, journaled, recoverable whichever moment a crash picks.
@Suite("Blob retirement")
struct GCBlobRetirementTests {
    /// The orphan condition and a collector's identity, under a lease the caller holds.
    private func retireOrphans(_ store: GCStore, _ digests: [Digest], olderThan delay: Duration = .seconds(60)) async throws
        -> [Registry.RetiredBlob] {
        try await store.collector.withLease { holder in
            try await store.registry.retireBlobs(digests, .orphan(olderThan: delay), by: retirer(holder)).retired
        }
    }

    private func retirer(_ holder: String) -> Registry.Retirer {
        .init(actor: "gc", runID: nil, leaseHolder: holder, pacing: GCOptions(delay: .zero).pacing)
    }

    private func journalRows(_ store: GCStore, _ digest: Digest) async throws -> Int {
        try await store.count("SELECT count(*) FROM blob_deletions WHERE digest = ?", [digest.description])
    }

    private func orphanAuditRows(_ store: GCStore, _ digest: Digest) async throws -> Int {
        try await store.count("SELECT count(*) FROM audit_events WHERE action = 'gc.orphan.delete' AND digest = ?", [digest.description])
    }

    @Test func anOrphanRetiredByTheFullScanIsJournaledAndACrashBeforeThePurgeIsFinishedByRecovery() async throws {
        let store = try GCStore()
        let image = try await store.pushImage("retire/app", tag: "v1", layers: [randomBytes(2000)])
        let orphanPath = try store.plantOrphanFile(ageSeconds: 7200)
        let orphan = try #require(Digest("sha256:" + (orphanPath as NSString).lastPathComponent))

        // The batch transaction commits; the process dies before its purge runs.
        let batch = try await store.collector.withLease { holder in
            try await store.registry.retireBatch([orphan], .orphan(olderThan: .seconds(60)), by: retirer(holder), forgetting: [])
        }

        #expect(batch.retired == [Registry.RetiredBlob(digest: orphan, size: 1234)])
        #expect(!FileManager.default.fileExists(atPath: orphanPath), "the file left blobs/ in the transaction")
        #expect(FileManager.default.fileExists(atPath: store.registry.store.trashPath(orphan)), "moved to trash, not unlinked")
        #expect(try await journalRows(store, orphan) == 1, "journaled with the move")
        #expect(try await orphanAuditRows(store, orphan) == 1, "audited with the move")

        try await store.collector.recover()

        #expect(!FileManager.default.fileExists(atPath: store.registry.store.trashPath(orphan)), "recovery purges the committed retirement")
        #expect(!FileManager.default.fileExists(atPath: orphanPath))
        #expect(try await journalRows(store, orphan) == 0)
        try await store.pull(image, tag: "v1")
        try await store.expectConsistent()
    }

    /// The rename happened, the transaction never committed (no journal row): the file
    /// goes back into blobs/, and the next full scan decides again.
    @Test func anOrphanWhoseRetirementNeverCommittedGoesBackAndTheNextFullScanRemovesIt() async throws {
        let store = try GCStore()
        let orphanPath = try store.plantOrphanFile(ageSeconds: 7200)
        let orphan = try #require(Digest("sha256:" + (orphanPath as NSString).lastPathComponent))
        try FileManager.default.moveItem(atPath: orphanPath, toPath: store.registry.store.trashPath(orphan))

        try await store.collector.recover()

        #expect(FileManager.default.fileExists(atPath: orphanPath), "an uncommitted move is undone")
        #expect(store.registry.store.trashedDigests().isEmpty)
        #expect(try await orphanAuditRows(store, orphan) == 0)

        let report = try await store.gc(full: true, delay: .seconds(60))

        #expect(report.orphanFiles == [orphanPath])
        #expect(!FileManager.default.fileExists(atPath: orphanPath))
        #expect(try await orphanAuditRows(store, orphan) == 1)
        try await store.expectConsistent()
    }

    /// The scan saw a file without a row; before the delete, an upload of the same bytes
    /// finished (its verified bytes replace the file, its row is committed). The
    /// re-check under the write lock keeps it, even once the file is as old as the orphan was.
    @Test func anOrphanThatGetsItsRowBetweenScanAndDeleteIsKept() async throws {
        let store = try GCStore()
        let bytes = randomBytes(1500)
        let digest = Digest.of(bytes)
        try FileManager.default.createDirectory(atPath: store.paths.blobDirectory(digest), withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: store.paths.blob(digest), contents: Data(randomBytes(10))))
        try store.age(store.paths.blob(digest), seconds: 7200)
        let rowAtScan = try await store.blobRowExists(digest)
        #expect(store.registry.store.blobFilesOnDisk().contains(digest) && !rowAtScan, "the scan's view: a file without a row")

        try await store.pushBlob("retire/late", bytes)
        try store.age(store.paths.blob(digest), seconds: 7200)
        let retired = try await retireOrphans(store, [digest])

        #expect(retired.isEmpty)
        try await store.expectBlobKept("retire/late", digest, "its upload finished before the delete")
        #expect(try store.readBlobFile(digest) == bytes)
        #expect(try await orphanAuditRows(store, digest) == 0)
        #expect(try await journalRows(store, digest) == 0)
        try await store.expectConsistent()
    }

    /// A rowless file written to since the scan (younger than the delay now) is kept.
    @Test func anOrphanWrittenSinceTheScanIsKept() async throws {
        let store = try GCStore()
        let orphanPath = try store.plantOrphanFile(ageSeconds: 7200)
        let orphan = try #require(Digest("sha256:" + (orphanPath as NSString).lastPathComponent))
        try store.age(orphanPath, seconds: 0)

        #expect(try await retireOrphans(store, [orphan]).isEmpty)
        #expect(FileManager.default.fileExists(atPath: orphanPath))
    }

    /// Cancellation (a shutdown) in the middle of a run: the lease is given back at
    /// once and the run's row says it failed, so the next collector starts at once and
    /// gc_history tells the truth.
    @Test func aCancelledRunReleasesTheLeaseAndRecordsItsEnd() async throws {
        let store = try GCStore()
        _ = try await store.plantGarbage()
        let gate = Gate()
        var options = GCOptions(delay: .zero)
        options.deleteUntagged = true
        let holding = options
        let run = Task {
            try await store.collector.run(holding) { message in
                if message == "marking" { await gate.enterAndWait() }
            }
        }
        try await gate.waitUntilEntered()
        run.cancel()
        gate.open()

        await #expect(throws: (any Error).self, "the run stops") { _ = try await run.value }
        #expect(try await store.count("SELECT count(*) FROM gc_lease") == 0, "the lease is released")
        #expect(try await store.scalar("SELECT status FROM gc_runs ORDER BY id DESC LIMIT 1") == "failed")
        let next = try await store.gc(deleteUntagged: true)
        #expect(!next.manifests.isEmpty, "the next run collects at once")
    }
}
