import Foundation
import OCI
import RegistryCore
import Testing
import TestSupport

/// Multi-platform images: an index keeps the manifests it lists; children go when
/// no tag reaches them any more (distribution's manifest-list scenarios).
@Suite("GC of indexes and their children")
struct GCIndexTests {
    /// TestTaggedManifestlistWithUntaggedManifest, then TestDeleteManifestIndexIfTagNotFound:
    /// the children stay while the index is tagged and go with it once it is untagged.
    @Test func childrenKeptWhileIndexTaggedThenCollectedWithIt() async throws {
        let store = try GCStore()
        let amd64 = try await store.pushImage("foo/taggedlist", tag: nil, layers: [randomBytes(900), randomBytes(901)])
        let arm64 = try await store.pushImage("foo/taggedlist", tag: nil, layers: [randomBytes(902)])
        let index = try await store.pushIndex("foo/taggedlist", tag: "latest", children: [amd64, arm64])
        try await store.expireLeases()

        let tagged = try await store.gc(deleteUntagged: true)

        #expect(tagged.manifests.isEmpty && tagged.blobs.isEmpty, "a tagged index keeps its children: \(tagged)")
        try await store.pull(index, tag: "latest")
        for child in [amd64, arm64] {
            try await store.expectManifest(child, kept: true, "listed by the tagged index")
            for blob in child.blobs { try await store.expectBlobKept("foo/taggedlist", blob.digest, "child of a tagged index") }
        }

        try await store.deleteTag("foo/taggedlist", "latest")
        let untagged = try await store.gc(deleteUntagged: true)

        #expect(Set(untagged.manifests.map(\.digest)) == Set([index, amd64, arm64].map(\.digest.description)))
        for manifest in [index, amd64, arm64] { try await store.expectManifest(manifest, kept: false, "no tag reaches it") }
        for blob in amd64.blobs + arm64.blobs { try await store.expectBlobGone("foo/taggedlist", blob.digest, "its image went") }
        try await store.expectConsistent()
    }

    /// TestUnTaggedManifestlistWithUntaggedManifest: everything goes.
    @Test func untaggedIndexWithUntaggedChildrenIsCollected() async throws {
        let store = try GCStore()
        let one = try await store.pushImage("foo/untaggedlist", tag: nil, layers: [randomBytes(400)])
        let two = try await store.pushImage("foo/untaggedlist", tag: nil, layers: [randomBytes(401)])
        let index = try await store.pushIndex("foo/untaggedlist", tag: nil, children: [one, two])
        try await store.expireLeases()

        let report = try await store.gc(deleteUntagged: true)

        #expect(report.manifests.count == 3)
        #expect(try await store.count("SELECT count(*) FROM manifests") == 0)
        #expect(try await store.count("SELECT count(*) FROM blobs") == 0)
        #expect(StoreContents.fileTree(store.directory).keys.filter { $0.hasPrefix("blobs/") }.isEmpty)
        try await store.expectManifest(index, kept: false, "untagged")
        try await store.expectConsistent()
    }

    /// TestUnTaggedManifestlistWithTaggedManifest: the untagged index goes, the tagged
    /// children stay complete.
    @Test func untaggedIndexGoesTaggedChildrenStay() async throws {
        let store = try GCStore()
        let one = try await store.pushImage("foo/taggedchildren", tag: "image1", layers: [randomBytes(500)])
        let two = try await store.pushImage("foo/taggedchildren", tag: "image2", layers: [randomBytes(501)])
        let index = try await store.pushIndex("foo/taggedchildren", tag: nil, children: [one, two])
        try await store.expireLeases()

        let report = try await store.gc(deleteUntagged: true)

        #expect(report.manifests.map(\.digest) == [index.digest.description])
        #expect(report.blobs.isEmpty)
        try await store.expectManifest(index, kept: false, "untagged index")
        try await store.pull(one, tag: "image1")
        try await store.pull(two, tag: "image2")
    }

    /// TestTaggedManifestlistWithDeletedReference / TestDeleteManifestIndexWithDanglingReferences:
    /// here a child an index lists cannot be deleted, so the index never dangles and
    /// GC keeps it whole.
    @Test func childOfTaggedIndexCannotBeDeletedAndStaysWhole() async throws {
        let store = try GCStore()
        let one = try await store.pushImage("foo/deleteref", tag: nil, layers: [randomBytes(600)])
        let two = try await store.pushImage("foo/deleteref", tag: nil, layers: [randomBytes(601)])
        let index = try await store.pushIndex("foo/deleteref", tag: "test", children: [one, two])

        await #expect(throws: RegistryError.self) { try await store.deleteManifest(two) }
        try await store.expireLeases()
        let report = try await store.gc(deleteUntagged: true)

        #expect(report.manifests.isEmpty && report.blobs.isEmpty, "\(report)")
        try await store.pull(index, tag: "test")
        for child in [one, two] {
            try await store.expectManifest(child, kept: true, "listed by a tagged index")
            for blob in child.blobs { try await store.expectBlobKept("foo/deleteref", blob.digest, "child of a tagged index") }
        }
    }

    /// An index deleted by digest releases its children (untagged) and their blobs.
    @Test func deletingIndexReleasesItsChildren() async throws {
        let store = try GCStore()
        let child = try await store.pushImage("foo/deleteindex", tag: nil, layers: [randomBytes(700)])
        let tagged = try await store.pushImage("foo/deleteindex", tag: "keep", layers: [randomBytes(701)])
        let index = try await store.pushIndex("foo/deleteindex", tag: "multi", children: [child, tagged])
        try await store.expireLeases()
        #expect(try await store.gc(deleteUntagged: true).manifests.isEmpty)

        try await store.deleteManifest(index)
        let report = try await store.gc(deleteUntagged: true)

        #expect(report.manifests.map(\.digest) == [child.digest.description])
        try await store.expectManifest(child, kept: false, "its only parent was deleted")
        for blob in child.blobs { try await store.expectBlobGone("foo/deleteindex", blob.digest, "its manifest went") }
        try await store.pull(tagged, tag: "keep")
    }

    /// Nested indexes: a tagged top-level index keeps the whole tree; untagged, the tree goes.
    @Test func nestedIndexTreeFollowsTheTopLevelTag() async throws {
        let store = try GCStore()
        let leaf = try await store.pushImage("foo/nested", tag: nil, layers: [randomBytes(800)])
        let inner = try await store.pushIndex("foo/nested", tag: nil, children: [leaf])
        let outer = try await store.pushIndex("foo/nested", tag: "top", children: [inner])
        try await store.expireLeases()

        #expect(try await store.gc(deleteUntagged: true).manifests.isEmpty)
        for manifest in [leaf, inner, outer] { try await store.expectManifest(manifest, kept: true, "reached from tag top") }

        try await store.deleteTag("foo/nested", "top")
        let report = try await store.gc(deleteUntagged: true)

        #expect(report.manifests.count == 3)
        for manifest in [leaf, inner, outer] { try await store.expectManifest(manifest, kept: false, "no tag reaches the tree") }
        try await store.expectConsistent()
    }
}
