import Foundation
import GRDB
import OCI
@testable import RegistryCore
import Testing

/// `--dry-run`: reports exactly what a real run would delete and changes nothing but
/// its own gc_runs row.
@Suite("GC dry run")
struct GCDryRunTests {
    @Test func dryRunChangesNothingAndPredictsTheRealRun() async throws {
        let store = try GCStore()
        let garbage = try await store.plantGarbage()
        let unpurged = try await store.plantCommittedDeletion()
        let before = try await store.snapshot()

        let dry = try await store.gc(deleteUntagged: true, dryRun: true, full: true)

        let after = try await store.snapshot()
        #expect(before == after, "a dry run changed the store:\n\(before.difference(from: after))")
        #expect(dry.dryRun)
        #expect(Set(dry.manifests.map(\.digest)) == garbage.garbageManifests)
        #expect(Set(dry.blobs.map(\.digest)) == garbage.garbageBlobs)
        #expect(dry.uploads == [garbage.idleUpload.value])
        #expect(dry.orphanFiles == [garbage.orphanFile])
        #expect(try await store.count("SELECT count(*) FROM gc_runs WHERE id = ? AND dry_run = 1 AND status = 'succeeded'", [dry.runID]) == 1)
        #expect(try await store.count("SELECT count(*) FROM audit_events WHERE gc_run_id = ?", [dry.runID]) == 0)
        #expect(FileManager.default.fileExists(atPath: store.registry.store.trashPath(unpurged)),
                "a dry run finished a crashed run's purge")

        let real = try await store.gc(deleteUntagged: true, full: true)

        #expect(Set(real.manifests) == Set(dry.manifests))
        #expect(Set(real.blobs) == Set(dry.blobs))
        #expect(real.uploads == dry.uploads)
        #expect(real.orphanFiles == dry.orphanFiles)
        #expect(real.bytesReclaimed == dry.bytesReclaimed)
        #expect(!FileManager.default.fileExists(atPath: garbage.orphanFile))
        try await store.pull(garbage.liveImage, tag: "v1")
        try await store.expectConsistent()
    }

    /// The same with the run's defaults (no untagged deletion, no disk walk).
    @Test func defaultDryRunMatchesDefaultRealRun() async throws {
        let store = try GCStore()
        let garbage = try await store.plantGarbage()
        let before = try await store.snapshot()

        let dry = try await store.gc(dryRun: true)

        #expect(try await store.snapshot() == before)
        #expect(dry.manifests.isEmpty)
        let expected = Set(garbage.deletedImage.blobs.map(\.digest.description) + [garbage.orphanBlob.description])
        #expect(Set(dry.blobs.map(\.digest)) == expected)
        let real = try await store.gc()
        #expect(Set(real.blobs) == Set(dry.blobs))
        #expect(real.uploads == dry.uploads)
    }
}
