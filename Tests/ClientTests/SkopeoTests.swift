import Foundation
import GRDB
import Testing
import TestSupport

/// skopeo against the running server: push from an OCI layout, pull back, and
/// compare bytes; multi-arch indexes; cross-repository copies; inspect, list-tags, delete.
/// `--preserve-digests` keeps skopeo from compressing the uncompressed layers, so what
/// comes back must be bit-identical to what went in.
extension ClientTests {
    @Suite struct SkopeoTests {
        @Test func pushAndPullAnImageUnchanged() throws {
            let fixture = try RegistryFixture("skopeo-image")
            defer { fixture.tearDown() }
            let image = try TestImage(layerSizes: [4 * 1024 * 1024, 1234, 17])
            let source = try OCILayoutWriter(path: try fixture.directory.sub("src"))
            for blob in image.blobs + [image.manifest] { try source.add(blob) }
            try source.writeIndex([("v1", image.manifest)])

            let reference = "docker://\(fixture.hostPort)/library/app:v1"
            try run("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false", "oci:\(source.path):v1", reference])

            // What the registry serves is exactly what was in the layout.
            let client = RegistryClient(port: fixture.port)
            let served = try client.request("GET", "/v2/library/app/manifests/v1", headers: [("Accept", MediaTypes.manifest)])
            #expect(served.status == 200)
            #expect(served.body == image.manifest.bytes, "the registry must serve the manifest bytes skopeo pushed")
            #expect(served.header("Docker-Content-Digest") == image.manifest.digest)
            #expect(served.header("Content-Type") == MediaTypes.manifest)

            let inspected = try run("skopeo", ["inspect", "--raw", "--tls-verify=false", reference])
            #expect(inspected.stdoutBytes == image.manifest.bytes, "skopeo inspect --raw must return the exact manifest bytes")

            let pulledPath = "\(fixture.directory.path)/pulled"
            try run("skopeo", ["copy", "--preserve-digests", "--src-tls-verify=false", reference, "oci:\(pulledPath):v1"])
            let pulled = OCILayoutReader(path: pulledPath)
            let top = try pulled.descriptor(ref: "v1")
            #expect(top.digest == image.manifest.digest, "the pulled image must have the pushed manifest digest")
            #expect(try pulled.blob(top.digest) == image.manifest.bytes)
            let expected = Set((image.blobs + [image.manifest]).map(\.digest))
            #expect(try pulled.verifiedDigests() == expected, "every blob must come back with its digest")
            let bigLayer = image.layers[0]
            #expect(try pulled.blob(bigLayer.digest) == bigLayer.bytes)
        }

        @Test func multiArchIndexRoundTrip() throws {
            let fixture = try RegistryFixture("skopeo-index")
            defer { fixture.tearDown() }
            let shared = Blob(mediaType: MediaTypes.layer, bytes: randomBytes(300_000))
            let amd64 = try TestImage(layerSizes: [200_000], architecture: "amd64", sharedLayers: [shared])
            let arm64 = try TestImage(layerSizes: [150_000], architecture: "arm64", sharedLayers: [shared])
            let index = Blob(mediaType: MediaTypes.index, bytes: try json([
                "schemaVersion": 2, "mediaType": MediaTypes.index,
                "manifests": [(amd64, "amd64"), (arm64, "arm64")].map { image, architecture -> [String: Any] in
                    var descriptor = image.manifest.descriptor
                    descriptor["platform"] = ["architecture": architecture, "os": "linux"]
                    return descriptor
                },
            ]))
            let source = try OCILayoutWriter(path: try fixture.directory.sub("src"))
            for blob in amd64.blobs + arm64.blobs + [amd64.manifest, arm64.manifest, index] { try source.add(blob) }
            try source.writeIndex([("multi", index)])

            let reference = "docker://\(fixture.hostPort)/multi/app:1"
            try run("skopeo", ["copy", "--all", "--preserve-digests", "--dest-tls-verify=false", "oci:\(source.path):multi", reference])

            let inspected = try run("skopeo", ["inspect", "--raw", "--tls-verify=false", reference])
            #expect(inspected.stdoutBytes == index.bytes, "the tag must serve the index bytes exactly")
            let client = RegistryClient(port: fixture.port)
            for image in [amd64, arm64] {
                let child = try client.request("GET", "/v2/multi/app/manifests/\(image.manifest.digest)",
                                               headers: [("Accept", MediaTypes.manifest)])
                #expect(child.status == 200)
                #expect(child.body == image.manifest.bytes, "each platform manifest must be served unchanged")
            }

            let pulledPath = "\(fixture.directory.path)/pulled"
            try run("skopeo", ["copy", "--all", "--preserve-digests", "--src-tls-verify=false", reference, "oci:\(pulledPath):1"])
            let pulled = OCILayoutReader(path: pulledPath)
            let top = try pulled.descriptor(ref: "1")
            #expect(top.digest == index.digest, "the pulled index must keep its digest")
            #expect(try pulled.blob(index.digest) == index.bytes)
            let expected = Set((amd64.blobs + arm64.blobs + [amd64.manifest, arm64.manifest, index]).map(\.digest))
            #expect(try pulled.verifiedDigests() == expected, "every manifest and blob of both platforms must come back")
        }

        @Test func copyBetweenRepositoriesMountsBlobs() throws {
            let fixture = try RegistryFixture("skopeo-mount")
            defer { fixture.tearDown() }
            let image = try TestImage(layerSizes: [1_000_000, 5000])
            let source = try OCILayoutWriter(path: try fixture.directory.sub("src"))
            for blob in image.blobs + [image.manifest] { try source.add(blob) }
            try source.writeIndex([("1", image.manifest)])

            try run("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false", "oci:\(source.path):1",
                               "docker://\(fixture.hostPort)/team/a:1"])
            try run("skopeo", ["copy", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
                               "docker://\(fixture.hostPort)/team/a:1", "docker://\(fixture.hostPort)/team/b:1"])

            // b pulls completely and identically.
            let pulledPath = "\(fixture.directory.path)/pulled"
            try run("skopeo", ["copy", "--preserve-digests", "--src-tls-verify=false",
                               "docker://\(fixture.hostPort)/team/b:1", "oci:\(pulledPath):1"])
            let pulled = OCILayoutReader(path: pulledPath)
            #expect(try pulled.descriptor(ref: "1").digest == image.manifest.digest)
            #expect(try pulled.verifiedDigests() == Set((image.blobs + [image.manifest]).map(\.digest)))

            // The registry linked the blobs into b instead of receiving them again.
            let mounted = try StoreInspector(dataDirectory: fixture.dataDirectory).database().read { db in
                try String.fetchAll(db, sql: "SELECT digest FROM audit_events WHERE action = 'blob.mount' AND repository = 'team/b'")
            }
            // skopeo mounts every layer; it sends the (small) config again, as it does to any registry.
            #expect(Set(image.layers.map(\.digest)).isSubset(of: Set(mounted)),
                    "skopeo copies within one registry by mounting the layers (POST ?mount=&from=); mounted: \(mounted)")
            #expect(Set(mounted).isSubset(of: Set(image.blobs.map(\.digest))))
            let store = StoreInspector(dataDirectory: fixture.dataDirectory)
            #expect(try store.blobFiles() == Set(image.blobs.map(\.digest)), "each blob is stored once, whatever the repositories")
            let client = RegistryClient(port: fixture.port)
            for blob in image.blobs {
                let head = try client.request("HEAD", "/v2/team/b/blobs/\(blob.digest)")
                #expect(head.status == 200)
                #expect(head.header("Content-Length") == String(blob.bytes.count))
            }
        }

        @Test func inspectListTagsAndDelete() throws {
            let fixture = try RegistryFixture("skopeo-delete")
            defer { fixture.tearDown() }
            let image = try TestImage(layerSizes: [10_000])
            let other = try TestImage(layerSizes: [20_000])
            let source = try OCILayoutWriter(path: try fixture.directory.sub("src"))
            for blob in image.blobs + other.blobs + [image.manifest, other.manifest] { try source.add(blob) }
            try source.writeIndex([("one", image.manifest), ("two", other.manifest)])

            let repository = "docker://\(fixture.hostPort)/tools/app"
            try run("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false", "oci:\(source.path):one", "\(repository):v1"])
            try run("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false", "oci:\(source.path):one", "\(repository):latest"])
            try run("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false", "oci:\(source.path):two", "\(repository):v2"])

            let listed = try run("skopeo", ["list-tags", "--tls-verify=false", repository])
            #expect(try jsonObject(listed.stdoutBytes)["Tags"] as? [String] == ["latest", "v1", "v2"])

            let inspected = try run("skopeo", ["inspect", "--raw", "--tls-verify=false", "\(repository):v2"])
            #expect(inspected.stdoutBytes == other.manifest.bytes)
            let digestInspect = try run("skopeo", ["inspect", "--raw", "--tls-verify=false", "\(repository)@\(image.manifest.digest)"])
            #expect(digestInspect.stdoutBytes == image.manifest.bytes)

            // skopeo delete resolves the tag and deletes the manifest by digest: both tags of it go.
            try run("skopeo", ["delete", "--tls-verify=false", "\(repository):v1"])
            let gone = try runAllowingFailure("skopeo", ["inspect", "--raw", "--tls-verify=false", "\(repository):v1"])
            #expect(!gone.succeeded, "inspect of a deleted image must fail:\n\(gone.output)")
            let goneByDigest = try runAllowingFailure("skopeo", ["inspect", "--raw", "--tls-verify=false", "\(repository)@\(image.manifest.digest)"])
            #expect(!goneByDigest.succeeded, "the deleted manifest must be gone by digest too:\n\(goneByDigest.output)")
            let client = RegistryClient(port: fixture.port)
            #expect(try client.request("GET", "/v2/tools/app/manifests/latest").status == 404)

            let remaining = try run("skopeo", ["list-tags", "--tls-verify=false", repository])
            #expect(try jsonObject(remaining.stdoutBytes)["Tags"] as? [String] == ["v2"], "only the other image's tag remains")
            let still = try run("skopeo", ["inspect", "--raw", "--tls-verify=false", "\(repository):v2"])
            #expect(still.stdoutBytes == other.manifest.bytes, "deleting one image must not touch another")
        }
    }
}
