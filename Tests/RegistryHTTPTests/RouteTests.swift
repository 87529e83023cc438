@testable import RegistryHTTP
import Testing

/// Distribution's route table (`registry/api/v2/routes_test.go`) and its ambiguity
/// cases: names may contain the segments the API itself uses.
@Suite("Routes are parsed from the right")
struct RouteTests {
    static let cases: [(String, RegistryRoute?)] = [
        ("/v2/", .base),
        ("/v2", .base),
        ("/v2/_catalog", .catalog),
        ("/v2/foo/tags/list", .tags(name: "foo")),
        ("/v2/foo/bar/tags/list", .tags(name: "foo/bar")),
        ("/v2/docker.com/foo/tags/list", .tags(name: "docker.com/foo")),
        ("/v2/docker.com/foo/bar/tags/list", .tags(name: "docker.com/foo/bar")),
        ("/v2/foo/bar/manifests/tag", .manifest(name: "foo/bar", reference: "tag")),
        ("/v2/foo/bar/manifests/sha256:abcdef01234567890", .manifest(name: "foo/bar", reference: "sha256:abcdef01234567890")),
        ("/v2/foo/bar/blobs/sha256:abcdef0919234", .blob(name: "foo/bar", digest: "sha256:abcdef0919234")),
        ("/v2/foo/bar/blobs/uploads/", .uploadStart(name: "foo/bar")),
        ("/v2/foo/bar/blobs/uploads", .uploadStart(name: "foo/bar")),
        ("/v2/foo/bar/blobs/uploads/uuid", .upload(name: "foo/bar", id: "uuid")),
        ("/v2/foo/bar/blobs/uploads/D95306FA-FAD3-4E36-8D41-CF1C93EF8286",
         .upload(name: "foo/bar", id: "D95306FA-FAD3-4E36-8D41-CF1C93EF8286")),
        ("/v2/foo/bar/blobs/uploads/RDk1MzA2RkEtRkFEMy00RTM2LThENDEtQ0YxQzkzRUY4Mjg2IA==",
         .upload(name: "foo/bar", id: "RDk1MzA2RkEtRkFEMy00RTM2LThENDEtQ0YxQzkzRUY4Mjg2IA==")),
        // Names containing the API's own segments.
        ("/v2/foo/bar/manifests/manifests/tags", .manifest(name: "foo/bar/manifests", reference: "tags")),
        ("/v2/a/manifests/b/manifests/v1", .manifest(name: "a/manifests/b", reference: "v1")),
        ("/v2/a/manifests/b", .manifest(name: "a", reference: "b")),
        ("/v2/foo/manifests/bar/tags/list", .tags(name: "foo/manifests/bar")),
        ("/v2/foo/tags/list/tags/list", .tags(name: "foo/tags/list")),
        ("/v2/blobs/uploads/blobs/uploads/", .uploadStart(name: "blobs/uploads")),
        ("/v2/foo/blobs/uploads/manifests/latest", .manifest(name: "foo/blobs/uploads", reference: "latest")),
        ("/v2/blobs/blobs/sha256:abc", .blob(name: "blobs", digest: "sha256:abc")),
        ("/v2/uploads/blobs/uploads/x", .upload(name: "uploads", id: "x")),
        ("/v2/foo/referrers/sha256:abc", .referrers(name: "foo", digest: "sha256:abc")),
        ("/v2/referrers/referrers/sha256:abc", .referrers(name: "referrers", digest: "sha256:abc")),
        ("/v2/locahost:8080/foo/bar/baz/manifests/tag", .manifest(name: "locahost:8080/foo/bar/baz", reference: "tag")),
        // Not API paths.
        ("/v2/foo", nil),
        ("/v2/foo/bar", nil),
        ("/v2/manifests/latest", nil),
        ("/v2/foo/manifests/", nil),
        ("/v2/foo/tags/", nil),
        ("/v3/foo/tags/list", nil),
        ("/v2foo/tags/list", nil),
        ("/", nil),
        ("/v2/foo/../../blob/uploads/D95306FA-FAD3-4E36-8D41-CF1C93EF8286", nil),
    ]

    @Test("route table", arguments: cases.indices)
    func route(_ index: Int) {
        let (path, expected) = Self.cases[index]
        #expect(RegistryRoute.parse(path) == expected, "\(path)")
    }

    @Test("a traversal attempt routes only to a name the grammar then refuses")
    func traversal() {
        let route = RegistryRoute.parse("/v2/foo/../../blobs/uploads/D95306FA-FAD3-4E36-8D41-CF1C93EF8286")
        #expect(route == .upload(name: "foo/../..", id: "D95306FA-FAD3-4E36-8D41-CF1C93EF8286"))
        #expect(throws: (any Error).self) { try RequestParsing.repository(route!.name!) }
        #expect(throws: (any Error).self) { try RequestParsing.repository("foo%2F..%2Fbar") }
    }
}
