import Foundation
import OCI
import RegistryCore
import Testing
import TestSupport

/// The blob lease: a client that uploaded, HEAD-ed or mounted a blob, and pushes a
/// manifest right after, is never beaten by GC (DESIGN.md, "Grace").
@Suite("GC blob leases")
struct GCLeaseTests {
    @Test func blobWithinItsLeaseIsKept() async throws {
        let store = try GCStore(gcDelay: .seconds(60))
        let leased = try await store.pushBlob("lease", randomBytes(700))
        let expired = try await store.pushBlob("lease", randomBytes(701))
        try await store.setLease(expired, secondsFromNow: -1)

        let report = try await store.gc(deleteUntagged: true)

        #expect(report.blobs.map(\.digest) == [expired.description])
        try await store.expectBlobKept("lease", leased, "its lease has 60 s left")
        try await store.expectBlobGone("lease", expired, "its lease ran out")
    }

    /// The lease is the configured delay, to the millisecond: an operator's `500ms`
    /// means 500 ms, not a second.
    @Test func leaseIsTheConfiguredDelay() async throws {
        let store = try GCStore(gcDelay: .milliseconds(60_500))
        let blob = try await store.pushBlob("lease", randomBytes(10))
        let remaining = try #require(try await store.leaseRemaining(blob))
        #expect(remaining > 45 && remaining <= 60.5, "lease of a fresh upload: \(remaining) s, configured 60.5 s")
    }

    /// HEAD of an unreferenced blob whose lease is nearly spent renews it: GC after the
    /// old lease ran out keeps it; an identical blob nobody HEAD-ed goes.
    @Test func headJustBeforeGCRenewsNearlySpentLease() async throws {
        let store = try GCStore(gcDelay: .seconds(60))
        let headed = try await store.pushBlob("head", randomBytes(800))
        let ignored = try await store.pushBlob("head", randomBytes(801))
        try await store.setLease(headed, secondsFromNow: 0.3)
        try await store.setLease(ignored, secondsFromNow: 0.3)

        _ = try await store.registry.blob(try store.repo("head"), headed, forHead: true)
        let renewed = try #require(try await store.leaseRemaining(headed))
        #expect(renewed > 45, "a HEAD with 0.3 s of lease left renews it to the delay; left: \(renewed) s")
        try await Task.sleep(for: .milliseconds(600))
        let report = try await store.gc()

        #expect(report.blobs.map(\.digest) == [ignored.description])
        try await store.expectBlobKept("head", headed, "HEAD-ed just before GC")
        try await store.expectBlobGone("head", ignored, "nobody asked for it and its lease ran out")
        let image = try await store.putManifest(
            "head", tag: "after-head", payload: imagePayload(config: headed, size: 800), mediaType: MediaType.ociManifest,
            blobs: [Blob(digest: headed, size: 800)])
        try await store.pull(image, tag: "after-head")
    }

    /// A HEAD with plenty of lease left does not write (no renewal needed).
    @Test func headWithPlentyOfLeaseLeftDoesNotRenew() async throws {
        let store = try GCStore(gcDelay: .seconds(120))
        let blob = try await store.pushBlob("head", randomBytes(10))
        try await store.setLease(blob, secondsFromNow: 100)
        _ = try await store.registry.blob(try store.repo("head"), blob, forHead: true)
        let remaining = try #require(try await store.leaseRemaining(blob))
        #expect(remaining < 100.1 && remaining > 61, "more than half the lease left: unchanged, got \(remaining) s")
    }

    /// A layer a live image references has no lease of its own left (it was uploaded
    /// long ago). Client B HEADs it (200) to reuse it; meanwhile client A deletes the
    /// only image using it and GC runs; B's manifest must still be accepted.
    @Test func headOfReferencedBlobProtectsItAfterItsManifestIsDeleted() async throws {
        let store = try GCStore(gcDelay: .seconds(30))
        let reused = randomBytes(900), other = randomBytes(901)
        let a = try await store.pushImage("shared/app", tag: "v1", layers: [reused, other])
        try await store.expireLeases()

        _ = try await store.registry.blob(try store.repo("shared/app"), Digest.of(reused), forHead: true)
        try await store.deleteManifest(a)
        let report = try await store.gc()

        #expect(!report.blobs.map(\.digest).contains(Digest.of(reused).description), "a blob HEAD-ed (200) just now was collected")
        try await store.expectBlobGone("shared/app", Digest.of(other), "unreferenced, lease over, nobody HEAD-ed it")
        let b = try await store.putManifest(
            "shared/app", tag: "v2", payload: imagePayload(config: Digest.of(reused), size: reused.count),
            mediaType: MediaType.ociManifest, blobs: [Blob(digest: Digest.of(reused), size: reused.count)])
        try await store.pull(b, tag: "v2")
    }

    /// A mount renews the lease too: the mounted blob survives GC after the old lease.
    @Test func mountJustBeforeGCRenewsNearlySpentLease() async throws {
        let store = try GCStore(gcDelay: .seconds(60))
        let blob = try await store.pushBlob("source", randomBytes(1200))
        let control = try await store.pushBlob("source", randomBytes(1201))
        try await store.setLease(blob, secondsFromNow: 0.3)
        try await store.setLease(control, secondsFromNow: 0.3)

        let mounted = try await store.registry.mountBlob(blob, into: try store.repo("target"), from: try store.repo("source"), audit: store.audit)
        #expect(mounted?.size == 1200)
        try await Task.sleep(for: .milliseconds(600))
        let report = try await store.gc()

        #expect(report.blobs.map(\.digest) == [control.description])
        try await store.expectBlobKept("target", blob, "mounted just before GC")
        try await store.expectBlobKept("source", blob, "the same blob, still linked in the source")
        try await store.expectBlobGone("source", control, "lease ran out")
    }

    /// Uploading a blob that already exists renews its lease: a second client's upload
    /// is as good as the first's.
    @Test func reUploadOfExistingBlobRenewsItsLease() async throws {
        let store = try GCStore(gcDelay: .seconds(30))
        let bytes = randomBytes(640)
        let blob = try await store.pushBlob("first", bytes)
        try await store.setLease(blob, secondsFromNow: -1)

        try await store.pushBlob("second", bytes)
        let report = try await store.gc()

        #expect(report.blobs.isEmpty, "\(report)")
        try await store.expectBlobKept("second", blob, "uploaded again just now")
        try await store.expectBlobKept("first", blob, "same bytes, same file")
    }

    /// An untagged manifest pushed again by digest (a multi-platform push reusing a
    /// platform manifest) is as young as the new push: GC between the child's PUT and
    /// the index's PUT must not take it.
    @Test func rePushedUntaggedManifestIsProtectedLikeANewOne() async throws {
        let store = try GCStore(gcDelay: .seconds(30))
        let child = try await store.pushImage("multi", tag: nil, layers: [randomBytes(300)])
        try await store.pool.write { db in
            try db.execute(sql: """
                UPDATE manifests SET created_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '-2 hours'),
                                     pushed_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '-2 hours')
                """)
        }
        try await store.expireLeases()

        _ = try await store.putManifest("multi", tag: nil, payload: child.payload, mediaType: child.mediaType, blobs: child.blobs)
        let report = try await store.gc(deleteUntagged: true, delay: .seconds(3600))

        #expect(report.manifests.isEmpty, "the manifest was pushed (201) a moment ago: \(report)")
        let index = try await store.pushIndex("multi", tag: "latest", children: [child])
        try await store.pull(index, tag: "latest")
        try await store.expectManifest(child, kept: true, "listed by the tagged index")
        for blob in child.blobs { try await store.expectBlobKept("multi", blob.digest, "the child's blobs") }
    }
}

/// A minimal image manifest whose config is `config` and that has no layers.
func imagePayload(config: Digest, size: Int) -> [UInt8] {
    GCStore.json([
        "schemaVersion": 2, "mediaType": MediaType.ociManifest,
        "config": descriptor("application/vnd.oci.image.config.v1+json", config, size),
        "layers": [[String: Any]](),
    ])
}
