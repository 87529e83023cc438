import HTTPTypes
import HummingbirdTesting
import Testing
import TestSupport

struct ReferrersIndex: Decodable {
    struct Entry: Decodable, Equatable {
        var mediaType: String
        var digest: String
        var size: Int
        var artifactType: String?
        var annotations: [String: String]?
    }
    var schemaVersion: Int
    var mediaType: String?
    var manifests: [Entry]
}

/// Pushes an artifact (empty config, one layer) whose subject is `subject`.
private func pushArtifact(
    _ r: RegistryClient, _ repository: String, subject: Desc, artifactType: String?,
    annotations: [String: String]? = nil, configMediaType: String = Media.ociEmpty,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> (manifest: [UInt8], digest: String, response: TestResponse) {
    let emptyConfig = Array("{}".utf8)
    let configDigest = try await r.pushBlob(repository, emptyConfig, sourceLocation: sourceLocation)
    let payload = randomBytes(64)
    let layerDigest = try await r.pushBlob(repository, payload, sourceLocation: sourceLocation)
    let manifest = imageManifest(
        config: Desc(mediaType: configMediaType, digest: configDigest, size: 2),
        layers: [Desc(mediaType: "application/octet-stream", digest: layerDigest, size: payload.count)],
        subject: subject, artifactType: artifactType, annotations: annotations)
    let digest = sha256(manifest)
    let response = try await r.putManifest(repository, digest, manifest)
    #expect(response.status == .created, "\(response.text)", sourceLocation: sourceLocation)
    return (manifest, digest, response)
}

@Suite("GET /v2/<name>/referrers/<digest>")
struct ReferrersTests {
    @Test("lists the artifacts whose subject is the digest, with artifactType and annotations")
    func list() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("app", tag: "v1")
            let unrelated = try await r.pushImage("app", tag: "v2")
            let sig = try await pushArtifact(r, "app", subject: image.descriptor, artifactType: "application/vnd.example.sig.v1",
                                             annotations: ["org.opencontainers.image.created": "2024-01-01T00:00:00Z"])
            let sbom = try await pushArtifact(r, "app", subject: image.descriptor, artifactType: "application/spdx+json",
                                              annotations: ["com.example.tool": "syft"])
            _ = try await pushArtifact(r, "app", subject: unrelated.descriptor, artifactType: "application/vnd.example.sig.v1")

            let response = try await r.get("/v2/app/referrers/\(image.digest)")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == Media.ociIndex)
            #expect(response.headers[Header.filtersApplied] == nil)
            let index = try response.decode(ReferrersIndex.self)
            #expect(index.schemaVersion == 2)
            #expect(index.mediaType == Media.ociIndex)
            let expected = [
                ReferrersIndex.Entry(mediaType: Media.ociManifest, digest: sig.digest, size: sig.manifest.count,
                                     artifactType: "application/vnd.example.sig.v1",
                                     annotations: ["org.opencontainers.image.created": "2024-01-01T00:00:00Z"]),
                ReferrersIndex.Entry(mediaType: Media.ociManifest, digest: sbom.digest, size: sbom.manifest.count,
                                     artifactType: "application/spdx+json", annotations: ["com.example.tool": "syft"]),
            ]
            #expect(index.manifests.sorted { $0.digest < $1.digest } == expected.sorted { $0.digest < $1.digest })
        }
    }

    @Test("?artifactType= filters and sets OCI-Filters-Applied: artifactType")
    func filter() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("app", tag: "v1")
            let sig = try await pushArtifact(r, "app", subject: image.descriptor, artifactType: "application/vnd.example.sig.v1")
            _ = try await pushArtifact(r, "app", subject: image.descriptor, artifactType: "application/spdx+json")

            let response = try await r.get("/v2/app/referrers/\(image.digest)?artifactType=application/vnd.example.sig.v1")
            #expect(response.status == .ok)
            #expect(response.headers[Header.filtersApplied] == "artifactType")
            let index = try response.decode(ReferrersIndex.self)
            #expect(index.manifests.map(\.digest) == [sig.digest])

            // Percent-encoded, as Go clients send it.
            let encoded = try await r.get("/v2/app/referrers/\(image.digest)?artifactType=application%2Fspdx%2Bjson")
            #expect(try encoded.decode(ReferrersIndex.self).manifests.map(\.artifactType) == ["application/spdx+json"])

            let none = try await r.get("/v2/app/referrers/\(image.digest)?artifactType=application/nothing")
            #expect(none.status == .ok)
            #expect(none.headers[Header.filtersApplied] == "artifactType")
            #expect(try none.decode(ReferrersIndex.self).manifests == [])
        }
    }

    @Test("PUT of a manifest with a subject answers OCI-Subject with the subject's digest")
    func ociSubjectHeader() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("app", tag: "v1")
            let artifact = try await pushArtifact(r, "app", subject: image.descriptor, artifactType: "application/vnd.example.sig.v1")
            #expect(artifact.response.headers[Header.ociSubject] == image.digest)
            #expect(artifact.response.headers[Header.contentDigest] == artifact.digest)
        }
    }

    @Test("a subject that does not exist yet is accepted, and listed once asked for")
    func subjectNotYetPushed() async throws {
        try await withRegistry { r in
            let future = Desc(mediaType: Media.ociManifest, digest: unknownDigest(), size: 1234)
            let artifact = try await pushArtifact(r, "app", subject: future, artifactType: "application/vnd.example.sig.v1")
            #expect(artifact.response.headers[Header.ociSubject] == future.digest)
            let index = try await r.get("/v2/app/referrers/\(future.digest)").decode(ReferrersIndex.self)
            #expect(index.manifests.map(\.digest) == [artifact.digest])
        }
    }

    @Test("an unknown subject is 200 with an empty manifests list")
    func unknownSubject() async throws {
        try await withRegistry { r in
            try await r.pushImage("app")
            for repository in ["app", "nosuchrepo"] {
                let response = try await r.get("/v2/\(repository)/referrers/\(unknownDigest())")
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == Media.ociIndex)
                #expect(response.text.contains("\"manifests\":[]"), "\(response.text)")
                #expect(try response.decode(ReferrersIndex.self).manifests == [])
            }
        }
    }

    @Test("without artifactType in the manifest, the config media type is the artifact type")
    func artifactTypeFromConfig() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("app", tag: "v1")
            let artifact = try await pushArtifact(r, "app", subject: image.descriptor, artifactType: nil,
                                                  configMediaType: "application/vnd.example.config.v1+json")
            let index = try await r.get("/v2/app/referrers/\(image.digest)").decode(ReferrersIndex.self)
            #expect(index.manifests.map(\.digest) == [artifact.digest])
            #expect(index.manifests.first?.artifactType == "application/vnd.example.config.v1+json")
        }
    }

    @Test("an index with a subject is a referrer too")
    func indexReferrer() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("app", tag: "v1")
            let child = try await r.pushImage("app", tag: nil)
            let index = indexManifest(manifests: [child.descriptor], subject: image.descriptor)
            let put = try await r.putManifest("app", "sigs", index, mediaType: Media.ociIndex)
            #expect(put.status == .created)
            #expect(put.headers[Header.ociSubject] == image.digest)
            let referrers = try await r.get("/v2/app/referrers/\(image.digest)").decode(ReferrersIndex.self)
            #expect(referrers.manifests.map(\.digest) == [sha256(index)])
            #expect(referrers.manifests.first?.mediaType == Media.ociIndex)
            #expect(referrers.manifests.first?.size == index.count)
        }
    }

    @Test("a deleted referrer is no longer listed")
    func deletedReferrer() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("app", tag: "v1")
            let artifact = try await pushArtifact(r, "app", subject: image.descriptor, artifactType: "application/vnd.example.sig.v1")
            #expect(try await r.send(.delete, "/v2/app/manifests/\(artifact.digest)").status == .accepted)
            #expect(try await r.get("/v2/app/referrers/\(image.digest)").decode(ReferrersIndex.self).manifests == [])
        }
    }

    @Test("referrers are per repository")
    func perRepository() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("app", tag: "v1")
            _ = try await pushArtifact(r, "app", subject: image.descriptor, artifactType: "application/vnd.example.sig.v1")
            let other = try await r.get("/v2/other/referrers/\(image.digest)")
            #expect(other.status == .ok)
            #expect(try other.decode(ReferrersIndex.self).manifests == [])
        }
    }

    @Test("a tag or a malformed digest in place of the digest is 400", arguments: ["latest", "sha256:xyz"])
    func notADigest(_ reference: String) async throws {
        try await withRegistry { r in
            try await r.pushImage("app")
            expectError(try await r.get("/v2/app/referrers/\(reference)"), .badRequest, "DIGEST_INVALID")
        }
    }
}
