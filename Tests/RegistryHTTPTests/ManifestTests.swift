import HTTPTypes
import HummingbirdTesting
import Testing
import TestSupport

@Suite("Manifests: PUT, GET, HEAD, DELETE")
struct ManifestTests {
    @Test("PUT by tag is 201 with Location and the sha256 of the exact bytes")
    func putByTag() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil, layers: 2)
            let manifest = imageManifest(config: image.config, layers: image.layers)
            let response = try await r.putManifest("alpha", "v1", manifest)
            #expect(response.status == .created)
            #expect(response.headers[Header.contentDigest] == sha256(manifest))
            #expect(response.headers[.location] == "/v2/alpha/manifests/\(sha256(manifest))")
            #expect(response.headers[Header.ociSubject] == nil)
        }
    }

    @Test("GET and HEAD by tag and by digest serve the pushed bytes with the pushed media type")
    func getByTagAndDigest() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: "v1", layers: 2)
            for reference in ["v1", image.digest] {
                let get = try await r.get("/v2/alpha/manifests/\(reference)")
                #expect(get.status == .ok)
                #expect(get.bytes == image.manifest, "\(reference)")
                #expect(get.headers[.contentType] == Media.ociManifest)
                #expect(get.headers[Header.contentDigest] == image.digest)
                #expect(get.headers[.contentLength] == String(image.manifest.count))

                let head = try await r.head("/v2/alpha/manifests/\(reference)")
                #expect(head.status == .ok)
                #expect(head.body.readableBytes == 0)
                #expect(head.headers[.contentType] == Media.ociManifest)
                #expect(head.headers[Header.contentDigest] == image.digest)
                #expect(head.headers[.contentLength] == String(image.manifest.count))
            }
        }
    }

    @Test("a digest with a percent-encoded colon in the path addresses the same manifest and blob")
    func percentEncodedDigestInPath() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: "v1")
            let manifest = try await r.get("/v2/alpha/manifests/\(image.digest.replacingOccurrences(of: ":", with: "%3A"))")
            #expect(manifest.status == .ok)
            #expect(manifest.bytes == image.manifest)
            let layer = image.layers[0].digest.replacingOccurrences(of: ":", with: "%3A")
            #expect(try await r.get("/v2/alpha/blobs/\(layer)").bytes == image.layerBytes[0])
        }
    }

    @Test("without Content-Type, the manifest's own mediaType is what GET reports")
    func mediaTypeFromBody() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil, docker: true)
            let response = try await r.send(.put, "/v2/alpha/manifests/v1", body: image.manifest)
            #expect(response.status == .created)
            let get = try await r.get("/v2/alpha/manifests/v1")
            #expect(get.headers[.contentType] == Media.dockerManifest)
            #expect(get.bytes == image.manifest)
        }
    }

    @Test("a Content-Type that contradicts the manifest's mediaType is 400 MANIFEST_INVALID")
    func contradictingContentType() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil, docker: true)
            let response = try await r.putManifest("alpha", "v1", image.manifest, mediaType: Media.ociManifest)
            expectError(response, .badRequest, "MANIFEST_INVALID")
        }
    }

    @Test("PUT by digest is 201 and creates no tag")
    func putByDigest() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil)
            let manifest = imageManifest(config: image.config, layers: image.layers, annotations: ["x": "y"])
            let digest = sha256(manifest)
            let response = try await r.putManifest("alpha", digest, manifest)
            #expect(response.status == .created)
            #expect(response.headers[Header.contentDigest] == digest)
            #expect(response.headers[.location] == "/v2/alpha/manifests/\(digest)")
            #expect(try await r.get("/v2/alpha/manifests/\(digest)").bytes == manifest)
            let tags = try await r.get("/v2/alpha/tags/list").decode(TagList.self)
            #expect(tags.tags == [])
        }
    }

    @Test("PUT by a sha512 digest is accepted when it matches")
    func putBySHA512() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil)
            let digest = sha512(image.manifest)
            let response = try await r.putManifest("alpha", digest, image.manifest)
            #expect(response.status == .created)
            #expect(response.headers[Header.contentDigest] == digest)
            #expect(try await r.get("/v2/alpha/manifests/\(digest)").bytes == image.manifest)
        }
    }

    @Test("PUT by a digest that does not match the bytes is 400 DIGEST_INVALID and stores nothing")
    func putByWrongDigest() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil)
            let other = imageManifest(config: image.config, layers: image.layers, annotations: ["other": "1"])
            let response = try await r.putManifest("alpha", sha256(other), image.manifest)
            expectError(response, .badRequest, "DIGEST_INVALID")
            expectError(try await r.get("/v2/alpha/manifests/\(sha256(other))"), .notFound, "MANIFEST_UNKNOWN")
        }
    }

    @Test("Docker schema2 manifest and manifest list round-trip with their media types")
    func dockerTypes() async throws {
        try await withRegistry { r in
            let amd = try await r.pushImage("alpha", tag: "amd64", docker: true)
            let arm = try await r.pushImage("alpha", tag: "arm64", docker: true)
            let get = try await r.get("/v2/alpha/manifests/amd64")
            #expect(get.headers[.contentType] == Media.dockerManifest)
            #expect(get.bytes == amd.manifest)

            var children = [amd.descriptor, arm.descriptor]
            children[0].platform = ["architecture": "amd64", "os": "linux"]
            children[1].platform = ["architecture": "arm64", "os": "linux"]
            let list = indexManifest(mediaType: Media.dockerList, manifests: children)
            let put = try await r.putManifest("alpha", "latest", list, mediaType: Media.dockerList)
            #expect(put.status == .created)
            #expect(put.headers[Header.contentDigest] == sha256(list))
            let pulled = try await r.get("/v2/alpha/manifests/latest")
            #expect(pulled.headers[.contentType] == Media.dockerList)
            #expect(pulled.bytes == list)
        }
    }

    @Test("an OCI index whose children exist is accepted and served as pushed")
    func ociIndex() async throws {
        try await withRegistry { r in
            let a = try await r.pushImage("alpha", tag: nil)
            let b = try await r.pushImage("alpha", tag: nil)
            let index = indexManifest(manifests: [a.descriptor, b.descriptor])
            let put = try await r.putManifest("alpha", "multi", index, mediaType: Media.ociIndex)
            #expect(put.status == .created)
            let get = try await r.get("/v2/alpha/manifests/multi")
            #expect(get.headers[.contentType] == Media.ociIndex)
            #expect(get.bytes == index)
            #expect(get.headers[Header.contentDigest] == sha256(index))
        }
    }

    @Test("an index with a missing child is 400 MANIFEST_BLOB_UNKNOWN naming it")
    func indexMissingChild() async throws {
        try await withRegistry { r in
            let a = try await r.pushImage("alpha", tag: nil)
            let missing = Desc(mediaType: Media.ociManifest, digest: unknownDigest(), size: 100)
            let index = indexManifest(manifests: [a.descriptor, missing])
            let response = try await r.putManifest("alpha", "multi", index, mediaType: Media.ociIndex)
            expectError(response, .badRequest, "MANIFEST_BLOB_UNKNOWN")
            #expect(response.text.contains(missing.digest))
            expectError(try await r.get("/v2/alpha/manifests/multi"), .notFound, "MANIFEST_UNKNOWN")
        }
    }

    @Test("a manifest with two missing blobs is 400 MANIFEST_BLOB_UNKNOWN naming both")
    func twoMissingBlobs() async throws {
        try await withRegistry { r in
            let configBytes = jsonBytes(["os": "linux"])
            let config = Desc(mediaType: Media.ociConfig, digest: try await r.pushBlob("alpha", configBytes), size: configBytes.count)
            let missing1 = Desc(mediaType: Media.ociLayer, digest: unknownDigest(), size: 10)
            let missing2 = Desc(mediaType: Media.ociLayer, digest: unknownDigest(), size: 20)
            let manifest = imageManifest(config: config, layers: [missing1, missing2])
            let response = try await r.putManifest("alpha", "v1", manifest)
            expectError(response, .badRequest, "MANIFEST_BLOB_UNKNOWN")
            #expect(response.text.contains(missing1.digest))
            #expect(response.text.contains(missing2.digest))
            expectError(try await r.get("/v2/alpha/manifests/v1"), .notFound, "MANIFEST_UNKNOWN")
        }
    }

    @Test("blobs pushed only to another repository do not satisfy a manifest")
    func blobsOfOtherRepository() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha")
            let response = try await r.putManifest("beta", "latest", image.manifest)
            expectError(response, .badRequest, "MANIFEST_BLOB_UNKNOWN")
            #expect(response.text.contains(image.config.digest))
            #expect(response.text.contains(image.layers[0].digest))
        }
    }

    @Test("a manifest may reference a foreign layer with urls that was never pushed")
    func foreignLayer() async throws {
        try await withRegistry { r in
            let configBytes = jsonBytes(["os": "windows"])
            let config = Desc(mediaType: Media.dockerConfig, digest: try await r.pushBlob("win", configBytes), size: configBytes.count)
            let foreign = Desc(mediaType: Media.dockerForeignLayer, digest: unknownDigest(), size: 1000)
            var object = foreign.json
            object["urls"] = ["https://example.com/layer.tar.gz"]
            let manifest = jsonBytes([
                "schemaVersion": 2, "mediaType": Media.dockerManifest, "config": config.json, "layers": [object],
            ])
            let response = try await r.putManifest("win", "ltsc", manifest, mediaType: Media.dockerManifest)
            #expect(response.status == .created, "\(response.text)")
            #expect(try await r.get("/v2/win/manifests/ltsc").bytes == manifest)
        }
    }

    static let invalidManifests: [(String, String)] = [
        ("not json", "{\"schemaVersion\": 2, "),
        ("empty body", ""),
        ("a JSON array", "[1, 2, 3]"),
        ("schemaVersion 3", "{\"schemaVersion\": 3, \"mediaType\": \"\(Media.ociManifest)\", \"config\": {}, \"layers\": []}"),
        ("no config", "{\"schemaVersion\": 2, \"mediaType\": \"\(Media.ociManifest)\", \"layers\": []}"),
        ("bad config digest", "{\"schemaVersion\": 2, \"mediaType\": \"\(Media.ociManifest)\", \"config\": {\"mediaType\": \"\(Media.ociConfig)\", \"digest\": \"sha256:zzz\", \"size\": 2}, \"layers\": []}"),
        ("negative size", "{\"schemaVersion\": 2, \"mediaType\": \"\(Media.ociManifest)\", \"config\": {\"mediaType\": \"\(Media.ociConfig)\", \"digest\": \"\(sha256([1]))\", \"size\": -1}, \"layers\": []}"),
    ]

    @Test("invalid manifests are 400 MANIFEST_INVALID", arguments: invalidManifests.indices)
    func invalidManifest(_ index: Int) async throws {
        let (label, body) = Self.invalidManifests[index]
        try await withRegistry { r in
            let response = try await r.putManifest("alpha", "v1", Array(body.utf8))
            expectError(response, .badRequest, "MANIFEST_INVALID")
            #expect(response.status == .badRequest, "\(label)")
            expectError(try await r.get("/v2/alpha/manifests/v1"), .notFound, "MANIFEST_UNKNOWN")
        }
    }

    @Test("a manifest over 4 MiB is 413")
    func tooLarge() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil)
            let manifest = imageManifest(config: image.config, layers: image.layers,
                                         annotations: ["padding": String(repeating: "x", count: 4 * 1024 * 1024)])
            #expect(manifest.count > 4 * 1024 * 1024)
            let response = try await r.putManifest("alpha", "huge", manifest)
            expectError(response, .contentTooLarge, "SIZE_INVALID")
            expectError(try await r.get("/v2/alpha/manifests/huge"), .notFound, "MANIFEST_UNKNOWN")
        }
    }

    @Test("a manifest of exactly 4 MiB is accepted")
    func atTheLimit() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil)
            let small = imageManifest(config: image.config, layers: image.layers, annotations: ["padding": ""])
            let manifest = imageManifest(config: image.config, layers: image.layers,
                                         annotations: ["padding": String(repeating: "x", count: 4 * 1024 * 1024 - small.count)])
            #expect(manifest.count == 4 * 1024 * 1024)
            let response = try await r.putManifest("alpha", "big", manifest)
            #expect(response.status == .created, "\(response.text)")
            #expect(try await r.get("/v2/alpha/manifests/big").bytes == manifest)
        }
    }

    /// The OCI conformance suite's "nonexistent manifest" is `.INVALID_MANIFEST_NAME`,
    /// which no tag can be; it expects 404 for GET and HEAD (spec: "If the manifest is
    /// not found in the repository, the response code MUST be 404").
    @Test("GET, HEAD and DELETE of a reference that cannot be a tag are 404 MANIFEST_UNKNOWN; PUT of it is 400 TAG_INVALID")
    func referenceThatCannotBeATag() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: "v1")
            for reference in [".INVALID_MANIFEST_NAME", "-dash", String(repeating: "t", count: 129), "bad%20tag"] {
                let get = try await r.get("/v2/alpha/manifests/\(reference)")
                expectError(get, .notFound, "MANIFEST_UNKNOWN")
                #expect(get.headers[.contentLength] == String(get.bytes.count))
                let head = try await r.head("/v2/alpha/manifests/\(reference)")
                expectHeadError(head, .notFound)
                #expect(head.headers[.contentType]?.hasPrefix("application/json") == true)
                expectError(try await r.send(.delete, "/v2/alpha/manifests/\(reference)"), .notFound, "MANIFEST_UNKNOWN")
                // In a repository that does not exist, as for any tag nobody pushed.
                expectError(try await r.get("/v2/nosuch/manifests/\(reference)"), .notFound, "MANIFEST_UNKNOWN")
                expectError(try await r.putManifest("alpha", reference, image.manifest), .badRequest, "TAG_INVALID")
            }
            // A malformed digest stays 400 DIGEST_INVALID: it is a client's mistake, not a name.
            expectError(try await r.get("/v2/alpha/manifests/sha256:1234"), .badRequest, "DIGEST_INVALID")
            #expect(try await r.get("/v2/alpha/manifests/v1").bytes == image.manifest)
            #expect(try await r.get("/v2/alpha/tags/list").decode(TagList.self).tags == ["v1"])
        }
    }

    @Test("DELETE by tag is 202: the tag is gone, the manifest stays by digest")
    func deleteTag() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: "v1")
            _ = try await r.putManifest("alpha", "v2", image.manifest)
            let response = try await r.send(.delete, "/v2/alpha/manifests/v1")
            #expect(response.status == .accepted)
            expectError(try await r.get("/v2/alpha/manifests/v1"), .notFound, "MANIFEST_UNKNOWN")
            #expect(try await r.get("/v2/alpha/manifests/\(image.digest)").bytes == image.manifest)
            #expect(try await r.get("/v2/alpha/manifests/v2").bytes == image.manifest)
            #expect(try await r.get("/v2/alpha/tags/list").decode(TagList.self).tags == ["v2"])
            expectError(try await r.send(.delete, "/v2/alpha/manifests/v1"), .notFound, "MANIFEST_UNKNOWN")
        }
    }

    @Test("DELETE by digest is 202, then the manifest and its tags are 404 MANIFEST_UNKNOWN")
    func deleteDigest() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: "v1")
            let response = try await r.send(.delete, "/v2/alpha/manifests/\(image.digest)")
            #expect(response.status == .accepted)
            expectError(try await r.get("/v2/alpha/manifests/\(image.digest)"), .notFound, "MANIFEST_UNKNOWN")
            expectHeadError(try await r.head("/v2/alpha/manifests/\(image.digest)"), .notFound)
            expectError(try await r.get("/v2/alpha/manifests/v1"), .notFound, "MANIFEST_UNKNOWN")
            #expect(try await r.get("/v2/alpha/tags/list").decode(TagList.self).tags == [])
            expectError(try await r.send(.delete, "/v2/alpha/manifests/\(image.digest)"), .notFound, "MANIFEST_UNKNOWN")
            // Its blobs are no longer referenced: deleting them is now allowed.
            #expect(try await r.send(.delete, "/v2/alpha/blobs/\(image.layers[0].digest)").status == .accepted)
        }
    }

    @Test("deleting a manifest an index lists is 409 and nothing changes")
    func deleteChildOfIndex() async throws {
        try await withRegistry { r in
            let child = try await r.pushImage("alpha", tag: nil)
            let index = indexManifest(manifests: [child.descriptor])
            #expect(try await r.putManifest("alpha", "multi", index, mediaType: Media.ociIndex).status == .created)
            let response = try await r.send(.delete, "/v2/alpha/manifests/\(child.digest)")
            expectError(response, .conflict, "DENIED")
            #expect(response.text.contains(sha256(index)))
            #expect(try await r.get("/v2/alpha/manifests/\(child.digest)").bytes == child.manifest)
            // Once the index is gone, the child can go.
            #expect(try await r.send(.delete, "/v2/alpha/manifests/\(sha256(index))").status == .accepted)
            #expect(try await r.send(.delete, "/v2/alpha/manifests/\(child.digest)").status == .accepted)
        }
    }

    @Test("with deletes disabled, DELETE is 405 UNSUPPORTED and nothing is removed")
    func deletesDisabled() async throws {
        try await withRegistry(configure: { $0.deleteEnabled = false }) { r in
            let image = try await r.pushImage("alpha", tag: "v1")
            let blob = try await r.pushBlob("alpha", randomBytes(10))
            expectError(try await r.send(.delete, "/v2/alpha/manifests/v1"), .methodNotAllowed, "UNSUPPORTED")
            expectError(try await r.send(.delete, "/v2/alpha/manifests/\(image.digest)"), .methodNotAllowed, "UNSUPPORTED")
            expectError(try await r.send(.delete, "/v2/alpha/blobs/\(blob)"), .methodNotAllowed, "UNSUPPORTED")
            #expect(try await r.get("/v2/alpha/manifests/v1").status == .ok)
            #expect(try await r.get("/v2/alpha/blobs/\(blob)").status == .ok)
        }
    }

    @Test("pushing another manifest under a tag moves the tag; the old one stays by digest")
    func tagMoves() async throws {
        try await withRegistry { r in
            let first = try await r.pushImage("alpha", tag: "latest")
            let second = try await r.pushImage("alpha", tag: "latest")
            #expect(first.digest != second.digest)
            let get = try await r.get("/v2/alpha/manifests/latest")
            #expect(get.bytes == second.manifest)
            #expect(get.headers[Header.contentDigest] == second.digest)
            #expect(try await r.get("/v2/alpha/manifests/\(first.digest)").bytes == first.manifest)
            #expect(try await r.get("/v2/alpha/tags/list").decode(TagList.self).tags == ["latest"])
        }
    }

    @Test("pushing the same manifest twice is idempotent")
    func samePushTwice() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: "v1")
            let again = try await r.putManifest("alpha", "v1", image.manifest)
            #expect(again.status == .created)
            #expect(again.headers[Header.contentDigest] == image.digest)
            #expect(try await r.get("/v2/alpha/manifests/v1").bytes == image.manifest)
        }
    }

    @Test("a manifest is not readable from another repository")
    func otherRepository() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: "v1")
            try await r.pushImage("beta", tag: "v1")
            expectError(try await r.get("/v2/beta/manifests/\(image.digest)"), .notFound, "MANIFEST_UNKNOWN")
            expectError(try await r.get("/v2/gamma/manifests/v1"), .notFound, "MANIFEST_UNKNOWN")
        }
    }
}

struct TagList: Decodable, Equatable {
    var name: String
    var tags: [String]
}
