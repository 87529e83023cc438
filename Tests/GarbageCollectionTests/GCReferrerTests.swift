import Foundation
import OCI
import RegistryCore
import Testing
import TestSupport

/// Referrers (signatures, SBOMs: artifacts with a `subject`) live as long as their
/// subject does, and go with it.
@Suite("GC of referrers")
struct GCReferrerTests {
    @Test func referrerKeptWhileSubjectLiveCollectedAfter() async throws {
        let store = try GCStore()
        let image = try await store.pushImage("signed", tag: "v1", layers: [randomBytes(1000)])
        let signature = try await store.pushArtifact("signed", subject: image)
        let attestation = try await store.pushArtifact("signed", subject: signature)
        try await store.expireLeases()

        let live = try await store.gc(deleteUntagged: true)

        #expect(live.manifests.isEmpty && live.blobs.isEmpty, "referrers of a tagged image stay: \(live)")
        for artifact in [signature, attestation] {
            try await store.expectManifest(artifact, kept: true, "its subject chain reaches a tag")
            for blob in artifact.blobs { try await store.expectBlobKept("signed", blob.digest, "a live referrer's blob") }
        }
        let listed = try await store.registry.referrers(try store.repo("signed"), subject: image.digest, artifactType: nil)
        #expect(listed.map(\.digest) == [signature.digest.description])

        try await store.deleteTag("signed", "v1")
        let dead = try await store.gc(deleteUntagged: true)

        #expect(Set(dead.manifests.map(\.digest)) == Set([image, signature, attestation].map(\.digest.description)))
        for manifest in [image, signature, attestation] {
            try await store.expectManifest(manifest, kept: false, "its subject is gone")
            for blob in manifest.blobs { try await store.expectBlobGone("signed", blob.digest, "its manifest went") }
        }
        try await store.expectConsistent()
    }

    /// A subject deleted by digest (not by GC) takes its untagged referrers with it at
    /// the next run, even without any tag change.
    @Test func referrersOfDeletedSubjectAreCollected() async throws {
        let store = try GCStore()
        let image = try await store.pushImage("sbom", tag: "v1", layers: [randomBytes(1000)])
        let sbom = try await store.pushArtifact("sbom", subject: image)
        try await store.expireLeases()
        #expect(try await store.gc(deleteUntagged: true).manifests.isEmpty)

        try await store.deleteManifest(image)
        let report = try await store.gc(deleteUntagged: true)

        #expect(report.manifests.map(\.digest) == [sbom.digest.description])
        try await store.expectManifest(sbom, kept: false, "its subject was deleted")
        for blob in sbom.blobs + image.blobs { try await store.expectBlobGone("sbom", blob.digest, "nothing references it") }
    }

    /// A tagged referrer is a root of its own; it does not keep its subject alive.
    @Test func taggedReferrerStaysWithoutKeepingItsSubject() async throws {
        let store = try GCStore()
        let image = try await store.pushImage("tagged-sig", tag: nil, layers: [randomBytes(1000)])
        let signature = try await store.pushArtifact("tagged-sig", subject: image, tag: "sig")
        try await store.expireLeases()

        let report = try await store.gc(deleteUntagged: true)

        #expect(report.manifests.map(\.digest) == [image.digest.description])
        try await store.expectManifest(signature, kept: true, "tagged")
        try await store.pull(signature, tag: "sig")
    }
}
