import HTTPTypes
import HummingbirdTesting
import Testing
import TestSupport

@Suite("Repository names and tags on the wire")
struct NameTests {
    /// Names that contain the API's own path segments.
    static let trickyNames = [
        "a/manifests/b", "blobs/uploads", "foo/tags/list", "x/referrers/y", "manifests", "uploads",
        "a/blobs", "library/blobs/uploads/x", "tags/list/manifests", "my-org/my.repo_name/sub",
    ]

    @Test("names containing manifests/blobs/tags/uploads segments push and pull", arguments: trickyNames)
    func trickyName(_ name: String) async throws {
        try await withRegistry { r in
            // Chunked upload through the session URL.
            let layer = randomBytes(500)
            let location = try await r.startUpload(name)
            #expect(location.hasPrefix("/v2/\(name)/blobs/uploads/"))
            #expect(try await r.send(.patch, location, headers: [.contentRange: "0-499"], body: layer).status == .accepted)
            #expect(try await r.get(location).status == .noContent)
            let put = try await r.send(.put, "\(location)?digest=\(sha256(layer))")
            #expect(put.status == .created)
            #expect(put.headers[.location] == "/v2/\(name)/blobs/\(sha256(layer))")

            let image = try await r.pushImage(name, tag: "v1")
            let manifest = try await r.get("/v2/\(name)/manifests/v1")
            #expect(manifest.status == .ok)
            #expect(manifest.bytes == image.manifest)
            #expect(try await r.get("/v2/\(name)/manifests/\(image.digest)").bytes == image.manifest)
            #expect(try await r.get("/v2/\(name)/blobs/\(image.layers[0].digest)").bytes == image.layerBytes[0])
            #expect(try await r.get("/v2/\(name)/blobs/\(sha256(layer))").bytes == layer)
            #expect(try await r.get("/v2/\(name)/tags/list").decode(TagList.self) == TagList(name: name, tags: ["v1"]))
            #expect(try await r.get("/v2/\(name)/referrers/\(image.digest)").status == .ok)
            #expect(try await r.get("/v2/_catalog").decode(Catalog.self).repositories == [name])
            #expect(try await r.send(.delete, "/v2/\(name)/manifests/v1").status == .accepted)
        }
    }

    @Test("a name and its prefix are different repositories")
    func prefixIsAnotherRepository() async throws {
        try await withRegistry { r in
            let deep = try await r.pushImage("a/manifests/b", tag: "v1")
            // `/v2/a/manifests/b` is the manifest `b` of repository `a`, which does not exist.
            expectError(try await r.get("/v2/a/manifests/b"), .notFound, "MANIFEST_UNKNOWN")
            expectError(try await r.get("/v2/a/manifests/\(deep.digest)"), .notFound, "MANIFEST_UNKNOWN")
            expectError(try await r.get("/v2/a/tags/list"), .notFound, "NAME_UNKNOWN")
        }
    }

    static let invalidNames = [
        "Foo", "a//b", "..%2Fetc", "a%2F..%2Fb", "-a", "a-", "a..b", "a/.hidden", "a%00b", "a%20b", "%41",
        "a:5000/b", String(repeating: "a", count: 256),
    ]

    @Test("invalid names are 400 NAME_INVALID on every endpoint", arguments: invalidNames)
    func invalidName(_ name: String) async throws {
        try await withRegistry { r in
            let digest = sha256([1])
            expectError(try await r.get("/v2/\(name)/tags/list"), .badRequest, "NAME_INVALID")
            expectError(try await r.get("/v2/\(name)/manifests/latest"), .badRequest, "NAME_INVALID")
            expectError(try await r.putManifest(name, "latest", Array("{}".utf8)), .badRequest, "NAME_INVALID")
            expectError(try await r.get("/v2/\(name)/blobs/\(digest)"), .badRequest, "NAME_INVALID")
            expectError(try await r.send(.post, "/v2/\(name)/blobs/uploads/"), .badRequest, "NAME_INVALID")
            expectError(try await r.send(.post, "/v2/\(name)/blobs/uploads/?digest=\(digest)", body: [1]), .badRequest, "NAME_INVALID")
            expectError(try await r.get("/v2/\(name)/referrers/\(digest)"), .badRequest, "NAME_INVALID")
            #expect(try await r.get("/v2/_catalog").decode(Catalog.self).repositories == [])
        }
    }

    @Test("dot segments never reach a repository: 400 NAME_INVALID or 404, never 5xx",
          arguments: ["/v2/a/../b/tags/list", "/v2/../b/tags/list", "/v2/a/./b/tags/list", "/v2/a/../../etc/manifests/latest",
                      "/v2/a/%2e%2e/b/tags/list", "/v2/a/../b/blobs/uploads/"])
    func dotSegments(_ path: String) async throws {
        try await withRegistry { r in
            try await r.pushImage("b", tag: "latest")
            let response = try await r.send(path.hasSuffix("/uploads/") ? .post : .get, path)
            #expect(response.status == .badRequest || response.status == .notFound, "\(path): \(response.status)")
            #expect(response.errorCodes != nil, "\(path): \(response.text)")
            #expect(try await r.get("/v2/_catalog").decode(Catalog.self).repositories == ["b"])
        }
    }

    @Test("a 255-character name is valid, 256 is not")
    func nameLength() async throws {
        try await withRegistry { r in
            let name = String(repeating: "a", count: 100) + "/" + String(repeating: "b", count: 154)
            #expect(name.count == 255)
            try await r.pushImage(name, tag: "v1")
            #expect(try await r.get("/v2/\(name)/manifests/v1").status == .ok)
            expectError(try await r.get("/v2/\(name)c/manifests/v1"), .badRequest, "NAME_INVALID")
        }
    }

    static let invalidTags = ["-bad", ".bad", "bad%20tag", "bad/..", String(repeating: "t", count: 129), "t%00", "caf%C3%A9"]

    @Test("pushing an invalid tag is 400 TAG_INVALID; reading it is 404 MANIFEST_UNKNOWN", arguments: invalidTags)
    func invalidTag(_ tag: String) async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil)
            let put = try await r.putManifest("alpha", tag, image.manifest)
            #expect(put.status == .badRequest || put.status == .notFound, "\(tag)")
            if !tag.contains("/") {
                expectError(put, .badRequest, "TAG_INVALID")
                expectError(try await r.get("/v2/alpha/manifests/\(tag)"), .notFound, "MANIFEST_UNKNOWN")
                expectHeadError(try await r.head("/v2/alpha/manifests/\(tag)"), .notFound)
            }
            #expect(try await r.get("/v2/alpha/tags/list").decode(TagList.self).tags == [])
        }
    }

    @Test("the longest and oddest valid tags work", arguments: [String(repeating: "t", count: 128), "_x", "1.2.3-rc.1_build", "UPPER"])
    func validTag(_ tag: String) async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: tag)
            #expect(try await r.get("/v2/alpha/manifests/\(tag)").bytes == image.manifest)
            #expect(try await r.get("/v2/alpha/tags/list").decode(TagList.self).tags == [tag])
        }
    }
}
