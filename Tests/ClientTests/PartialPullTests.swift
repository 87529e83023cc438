import Foundation
import Testing

/// A partial pull, as podman does it for a zstd:chunked layer when containers-storage has
/// `enable_partial_images`: it reads the layer's table of contents, finds the files it
/// already has (by digest, in other layers of the store) and fetches only the others, with
/// many ranges in one GET. The registry must answer those with 206 multipart/byteranges;
/// answering 200 with the whole layer works but sends everything.
extension ClientTests {
    @Suite struct PartialPullTests {
        static let sharedFiles = 120, newFiles = 12, fileSize = 100 * 1024

        @Test func zstdChunkedPullFetchesOnlyTheFilesTheStoreLacks() throws {
            // Fail (not skip) when a tool is missing; overlay must mount (podman says so if not).
            _ = try requireTool("buildah")
            _ = try requireTool("podman")
            let fixture = try RegistryFixture("partial-pull")
            defer { fixture.tearDown() }
            let builder = try PodmanTests.Storage(in: fixture.directory, name: "builder")
            let puller = try PodmanTests.Storage(in: fixture.directory, name: "puller", driver: "overlay", partialPulls: true)

            // base: 120 files of random bytes. derived: the same files and 12 more, in one
            // layer of its own (so nothing is shared by layer digest, only by file content).
            let shared = try fixture.directory.sub("context/shared"), extra = try fixture.directory.sub("context/extra")
            var expected: [String: Data] = [:]
            for index in 0..<Self.sharedFiles { expected["shared-\(index)"] = try writeRandomFile("\(shared)/shared-\(index)") }
            for index in 0..<Self.newFiles { expected["new-\(index)"] = try writeRandomFile("\(extra)/new-\(index)") }
            try build(builder, "localhost/base:1", copying: [shared])
            try build(builder, "localhost/derived:1", copying: [shared, extra])
            for name in ["base", "derived"] {
                try builder.podman(["push", "--tls-verify=false", "--compression-format", "zstd:chunked",
                                    "localhost/\(name):1", "\(fixture.hostPort)/partial/\(name):1"])
            }
            let layer = try zstdChunkedLayer(RegistryClient(port: fixture.port), "partial/derived", "1")

            let proxy = try ThrottlingProxy(targetPort: fixture.port)
            defer { proxy.stop() }
            try puller.podman(["pull", "--tls-verify=false", "\(proxy.hostPort)/partial/base:1"])
            let before = proxy.bytesToClients
            let derived = "\(proxy.hostPort)/partial/derived:1"
            try puller.podman(["pull", "--tls-verify=false", derived])
            let sent = proxy.bytesToClients - before
            // The new files are 10% of the layer; its table of contents, the manifest, the
            // config and the multipart framing add a little.
            #expect(sent < layer.size / 4, "the registry sent \(sent) bytes for a pull of a \(layer.size)-byte layer of which the store lacked 10%")
            #expect(sent > Self.newFiles * Self.fileSize, "the new files must have come over the wire (\(sent) bytes)")

            // The pulled image has every file, with the right bytes.
            let mountPoint = puller.trimmed(try puller.podman(["image", "mount", derived]))
            defer { _ = try? puller.podman(["image", "unmount", derived]) }
            let files = try FileManager.default.contentsOfDirectory(atPath: "\(mountPoint)/data")
            #expect(Set(files) == Set(expected.keys))
            for (name, bytes) in expected {
                #expect(FileManager.default.contents(atPath: "\(mountPoint)/data/\(name)") == bytes, "\(name) differs after the pull")
            }
        }

        private func writeRandomFile(_ path: String) throws -> Data {
            var generator = SystemRandomNumberGenerator()
            let data = Data((0..<Self.fileSize).map { _ in UInt8.random(in: 0...255, using: &generator) })
            try data.write(to: URL(fileURLWithPath: path))
            return data
        }

        /// An image from scratch with the contents of `directories` under /data, in one layer.
        private func build(_ storage: PodmanTests.Storage, _ name: String, copying directories: [String]) throws {
            let container = storage.trimmed(try storage.buildah(["from", "scratch"]))
            for directory in directories { try storage.buildah(["copy", container, directory, "/data"]) }
            try storage.buildah(["commit", "--quiet", container, name])
            try storage.buildah(["rm", container])
        }

        /// The image's one layer, which must be zstd:chunked (with its table of contents).
        private func zstdChunkedLayer(_ client: RegistryClient, _ repository: String, _ tag: String) throws -> (digest: String, size: Int) {
            let response = try client.request("GET", "/v2/\(repository)/manifests/\(tag)",
                                              headers: [("Accept", "application/vnd.oci.image.manifest.v1+json")])
            let layers = try jsonObject(response.body)["layers"] as? [[String: Any]] ?? []
            guard layers.count == 1, let layer = layers.first, let digest = layer["digest"] as? String, let size = layer["size"] as? Int,
                  layer["mediaType"] as? String == "application/vnd.oci.image.layer.v1.tar+zstd",
                  (layer["annotations"] as? [String: String])?["io.containers.zstd-chunked.manifest-checksum"] != nil
            else { throw ClientTestError("not one zstd:chunked layer:\n\(response)") }
            return (digest, size)
        }
    }
}
