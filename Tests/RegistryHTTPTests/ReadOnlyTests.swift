import Foundation
import HTTPTypes
import HummingbirdTesting
import OCI
import RegistryCore
import Testing
import TestSupport

/// The first error's message in an OCI error body.
func errorMessage(_ response: TestResponse) -> String {
    (try? response.decode(ErrorBody.self))?.errors.first?.message ?? ""
}

@Suite("Read-only (maintenance) mode")
struct ReadOnlyTests {
    @Test("every write is refused with 405 UNSUPPORTED saying read-only mode; pulls, HEADs and listings work")
    func writesRefusedReadsWork() async throws {
        try await withDataDirectory { directory in
            var cfg = testConfiguration(directory)
            // Given content pushed while the registry was writable, and an open upload session
            let (image, session) = try await serveLive(cfg) { _, r in
                let image = try await r.pushImage("team/app", tag: "v1")
                let subject = Desc(mediaType: image.mediaType, digest: image.digest, size: image.manifest.count)
                try await r.pushImage("team/app", tag: nil, subject: subject, artifactType: "application/vnd.example.sbom")
                return (image, try await r.startUpload("team/app"))
            }
            // When it is restarted in read-only mode
            cfg.readOnly = true
            try await serveLive(cfg) { _, r in
                let bytes = randomBytes(512)
                let digest = sha256(bytes)
                let writes: [(HTTPRequest.Method, String, [UInt8]?)] = [
                    (.post, "/v2/team/app/blobs/uploads/", nil),
                    (.post, "/v2/team/app/blobs/uploads/?digest=\(digest)", bytes),
                    (.post, "/v2/other/blobs/uploads/?mount=\(image.layers[0].digest)&from=team/app", nil),
                    (.patch, session, bytes),
                    (.put, "\(session)?digest=\(digest)", bytes),
                    (.delete, session, nil),
                    (.put, "/v2/team/app/manifests/v2", image.manifest),
                    (.delete, "/v2/team/app/manifests/\(image.digest)", nil),
                    (.delete, "/v2/team/app/manifests/v1", nil),
                    (.delete, "/v2/team/app/blobs/\(image.layers[0].digest)", nil),
                ]
                for (method, path, body) in writes {
                    let response = try await r.send(method, path, headers: [.contentType: Media.ociManifest], body: body)
                    expectError(response, .methodNotAllowed, "UNSUPPORTED")
                    #expect(errorMessage(response).contains("read-only mode"), "\(method) \(path): \(response.text)")
                }
                // Then nothing changed, and every read works
                let manifest = try await r.get("/v2/team/app/manifests/v1", headers: [.accept: Media.ociManifest])
                #expect(manifest.status == .ok && manifest.bytes == image.manifest)
                #expect(try await r.head("/v2/team/app/manifests/\(image.digest)").status == .ok)
                #expect(try await r.get("/v2/team/app/blobs/\(image.layers[0].digest)").bytes == image.layerBytes[0])
                #expect(try await r.head("/v2/team/app/blobs/\(image.config.digest)").status == .ok)
                expectHeadError(try await r.head("/v2/team/app/blobs/\(digest)"), .notFound)
                #expect(try await r.get("/v2/_catalog").text.contains("team/app"))
                #expect(try await r.get("/v2/team/app/tags/list").text.contains("v1"))
                let referrers = try await r.get("/v2/team/app/referrers/\(image.digest)")
                #expect(referrers.status == .ok && referrers.text.contains("application/vnd.example.sbom"))
                #expect(try await r.get(session).status == .noContent, "upload status is a read")
                #expect(try await r.get("/v2/").status == .ok)
            }
        }
    }

    @Test("garbage collection deletes nothing in read-only mode; a dry run still reports")
    func gcRefused() async throws {
        try await withDataDirectory { directory in
            var cfg = testConfiguration(directory)
            cfg.gcDelay = .zero
            // Given an unreferenced blob whose lease has run out
            let digest = try await serveLive(cfg) { _, r in try await r.pushBlob("garbage", randomBytes(300)) }
            cfg.readOnly = true
            try await serveLive(cfg) { registry, r in
                let collector = GarbageCollector(registry: registry)
                var options = registry.configuration.gcOptions
                options.delay = .zero
                await #expect(throws: GCError.readOnly) { try await collector.run(options) }
                options.dryRun = true
                let report = try await collector.run(options)
                #expect(report.blobs.map(\.digest) == [digest], "the dry run sees the garbage")
                // The blob is still there.
                #expect(try await r.head("/v2/garbage/blobs/\(digest)").status == .ok)
                #expect(FileManager.default.fileExists(atPath: registry.paths.blob(try #require(Digest(digest)))))
            }
        }
    }
}
