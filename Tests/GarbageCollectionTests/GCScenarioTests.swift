import Foundation
import Hummingbird
import HummingbirdTesting
import OCI
import RegistryCore
import RegistryHTTP
import Testing
import TestSupport

/// distribution's `registry/storage/garbagecollect_test.go`, scenario by scenario, on a
/// real store: what GC keeps and what it reclaims, checked as an operator would
/// (rows, files, and what a GET answers).
@Suite("GC scenarios")
struct GCScenarioTests {
    /// TestNoDeletionNoEffect: nothing deleted, nothing collected.
    @Test func nothingDeletedNothingCollected() async throws {
        let store = try GCStore()
        let one = try await store.pushImage("palailogos", tag: "one", layers: [randomBytes(500), randomBytes(600)])
        let two = try await store.pushImage("palailogos", tag: "two", layers: [randomBytes(700)])
        let three = try await store.pushImage("palailogos", tag: "three", layers: [randomBytes(800)])
        let index = try await store.pushIndex("palailogos", tag: "multi", children: [one, two])
        try await store.expireLeases()
        let before = try await store.snapshot()

        let report = try await store.gc(deleteUntagged: true)

        #expect(report.manifests.isEmpty && report.blobs.isEmpty, "\(report)")
        for (manifest, tag) in [(one, "one"), (two, "two"), (three, "three"), (index, "multi")] {
            try await store.expectManifest(manifest, kept: true, "tagged")
            try await store.pull(manifest, tag: tag)
        }
        let after = try await store.snapshot()
        #expect(before.files == after.files, "\(before.difference(from: after))")
    }

    /// TestDeleteManifestIfTagNotFound: untagged manifests stay unless the run deletes
    /// untagged ones; then they and their blobs go.
    @Test func untaggedManifestsKeptWithoutDeleteUntaggedAndCollectedWithIt() async throws {
        let store = try GCStore()
        let first = try await store.pushImage("deletemanifests", tag: nil, layers: [randomBytes(300), randomBytes(301), randomBytes(302)])
        let second = try await store.pushImage("deletemanifests", tag: nil, layers: [randomBytes(303), randomBytes(304), randomBytes(305)])
        try await store.expireLeases()

        let keeping = try await store.gc(deleteUntagged: false)
        #expect(keeping.manifests.isEmpty && keeping.blobs.isEmpty, "without --delete-untagged: \(keeping)")
        for manifest in [first, second] {
            try await store.expectManifest(manifest, kept: true, "untagged manifests are kept without --delete-untagged")
            for blob in manifest.blobs { try await store.expectBlobKept("deletemanifests", blob.digest, "referenced by a kept manifest") }
        }

        let deleting = try await store.gc(deleteUntagged: true)
        #expect(Set(deleting.manifests.map(\.digest)) == [first.digest.description, second.digest.description])
        #expect(Set(deleting.blobs.map(\.digest)) == Set((first.blobs + second.blobs).map(\.digest.description)))
        for manifest in [first, second] {
            try await store.expectManifest(manifest, kept: false, "untagged and --delete-untagged")
            for blob in manifest.blobs { try await store.expectBlobGone("deletemanifests", blob.digest, "only an untagged manifest used it") }
        }
        try await store.expectConsistent()
    }

    /// TestDeletionHasEffect: a manifest deleted by digest loses its unique blobs; the
    /// others keep theirs.
    @Test func deletedManifestsUniqueBlobsAreReclaimed() async throws {
        let store = try GCStore()
        let kept = try await store.pushImage("komnenos", tag: "v1", layers: [randomBytes(1000), randomBytes(1001)])
        let deleted2 = try await store.pushImage("komnenos", tag: "v2", layers: [randomBytes(1002), randomBytes(1003)])
        let deleted3 = try await store.pushImage("komnenos", tag: "v3", layers: [randomBytes(1004)])
        try await store.deleteManifest(deleted2)
        try await store.deleteManifest(deleted3)
        try await store.expireLeases()

        let report = try await store.gc(deleteUntagged: false)

        #expect(Set(report.blobs.map(\.digest)) == Set((deleted2.blobs + deleted3.blobs).map(\.digest.description)))
        #expect(report.bytesReclaimed == Int64((deleted2.blobs + deleted3.blobs).reduce(0) { $0 + $1.size }))
        try await store.pull(kept, tag: "v1")
        for blob in deleted2.blobs + deleted3.blobs {
            try await store.expectBlobGone("komnenos", blob.digest, "its only manifest was deleted")
            #expect(try await store.count("SELECT count(*) FROM repository_blobs WHERE digest = ?", [blob.digest.description]) == 0,
                    "the repository's link to a collected blob goes with it")
        }
        try await store.expectConsistent()
        // What a client sees over HTTP: the collected blob is BLOB_UNKNOWN, the kept one is served.
        let app = Application(router: RegistryApplication.buildRouter(registry: store.registry))
        try await app.test(.router) { client in
            let gone = try await client.execute(uri: "/v2/komnenos/blobs/\(deleted2.layers[0])", method: .get)
            #expect(gone.status == .notFound)
            #expect(String(buffer: gone.body).contains("BLOB_UNKNOWN"), "\(String(buffer: gone.body))")
            let served = try await client.execute(uri: "/v2/komnenos/blobs/\(kept.layers[0])", method: .get)
            #expect(served.status == .ok)
            #expect(Digest.of(Array(served.body.readableBytesView)) == kept.layers[0])
        }
    }

    /// TestDeletionWithSharedLayer, across repositories: deleting one repository's image
    /// leaves the layers another repository's image shares.
    @Test func sharedLayersSurviveWhenOneRepositorysImageIsDeleted() async throws {
        let store = try GCStore()
        let shared = [randomBytes(2000), randomBytes(2001)]
        let onlyA = randomBytes(2002), onlyB = randomBytes(2003)
        let a = try await store.pushImage("team-a/app", tag: "latest", layers: shared + [onlyA])
        let b = try await store.pushImage("team-b/app", tag: "latest", layers: shared + [onlyB])
        try await store.deleteManifest(b)
        try await store.expireLeases()

        let report = try await store.gc(deleteUntagged: true)

        #expect(Set(report.blobs.map(\.digest)) == [b.config.description, Digest.of(onlyB).description])
        try await store.pull(a, tag: "latest")
        for layer in shared { try await store.expectBlobKept("team-a/app", Digest.of(layer), "team-a's image still uses it") }
        try await store.expectBlobGone("team-b/app", Digest.of(onlyB), "only team-b's deleted image used it")
        try await store.expectBlobGone("team-b/app", b.config, "config of the deleted image")
        try await store.expectConsistent()
    }

    /// TestOrphanBlobDeleted / TestGCWithUnusedLayerLinkPath: a blob no manifest ever
    /// referenced goes once its lease is over, links included.
    @Test func orphanBlobIsCollectedWithItsLinks() async throws {
        let store = try GCStore()
        let orphan = try await store.pushBlob("michael_z_doukas", randomBytes(4096))
        let image = try await store.pushImage("michael_z_doukas", tag: "latest", layers: [randomBytes(100)])
        try await store.expireLeases()

        let report = try await store.gc()

        #expect(report.blobs.map(\.digest) == [orphan.description])
        #expect(report.blobs.map(\.size) == [4096])
        try await store.expectBlobGone("michael_z_doukas", orphan, "never referenced, lease over")
        #expect(try await store.count("SELECT count(*) FROM repository_blobs WHERE digest = ?", [orphan.description]) == 0)
        try await store.pull(image, tag: "latest")
    }

    /// A tag moving to a new manifest orphans the old one; with --delete-untagged the old
    /// manifest and the layers only it had go, the shared ones stay.
    @Test func tagMovingToNewManifestOrphansOldLayers() async throws {
        let store = try GCStore()
        let base = randomBytes(1500), oldOnly = randomBytes(1501), newOnly = randomBytes(1502)
        let old = try await store.pushImage("web", tag: "latest", layers: [base, oldOnly])
        let new = try await store.pushImage("web", tag: "latest", layers: [base, newOnly])
        try await store.expireLeases()

        let keeping = try await store.gc(deleteUntagged: false)
        #expect(keeping.blobs.isEmpty && keeping.manifests.isEmpty, "without --delete-untagged the old image stays: \(keeping)")
        try await store.expectManifest(old, kept: true, "not deleting untagged")

        let report = try await store.gc(deleteUntagged: true)

        #expect(report.manifests.map(\.digest) == [old.digest.description])
        #expect(Set(report.blobs.map(\.digest)) == [old.config.description, Digest.of(oldOnly).description])
        try await store.expectManifest(old, kept: false, "no tag reaches it since latest moved")
        try await store.expectBlobGone("web", Digest.of(oldOnly), "only the old image had it")
        try await store.expectBlobGone("web", old.config, "the old image's config")
        try await store.pull(new, tag: "latest")
        try await store.expectConsistent()
    }

    /// Untagged manifests younger than the run's delay are roots: a push in progress
    /// (manifest first, tag later) is not collected.
    @Test func untaggedManifestYoungerThanDelayIsKept() async throws {
        let store = try GCStore()
        let image = try await store.pushImage("young", tag: nil, layers: [randomBytes(100)])
        try await store.expireLeases()

        let young = try await store.gc(deleteUntagged: true, delay: .seconds(3600))
        #expect(young.manifests.isEmpty && young.blobs.isEmpty, "\(young)")
        try await store.expectManifest(image, kept: true, "younger than the delay")
        for blob in image.blobs { try await store.expectBlobKept("young", blob.digest, "its manifest is young") }

        let old = try await store.gc(deleteUntagged: true, delay: .zero)
        #expect(old.manifests.map(\.digest) == [image.digest.description])
        try await store.expectManifest(image, kept: false, "older than the delay and untagged")
    }

    /// An empty store: a run succeeds and deletes nothing.
    @Test func emptyStoreRunSucceeds() async throws {
        let store = try GCStore()
        let report = try await store.gc(deleteUntagged: true, full: true)
        #expect(report.manifests.isEmpty && report.blobs.isEmpty && report.uploads.isEmpty && report.orphanFiles.isEmpty)
        #expect(try await store.scalar("SELECT status FROM gc_runs WHERE id = ?", [report.runID]) == "succeeded")
    }
}
