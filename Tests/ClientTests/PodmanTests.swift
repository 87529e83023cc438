import Foundation
import Testing
import TestSupport

/// buildah builds an image from scratch, podman pushes it, forgets it and pulls it
/// back. Storage is private to the test (vfs driver unless asked otherwise, its own root,
/// runroot and storage.conf under the temp dir), so the host's container storage is untouched.
extension ClientTests {
    @Suite struct PodmanTests {
        struct Storage {
            let root: String, runroot: String, tmpdir: String, environment: [String: String]
            let driver: String

            /// `name` keeps two stores in one directory apart; `partialPulls` turns on
            /// containers-storage's partial pulls of zstd:chunked layers (overlay only).
            init(in directory: TemporaryDirectory, name: String = "storage", driver: String = "vfs", partialPulls: Bool = false) throws {
                self.driver = driver
                root = try directory.sub("\(name)/root")
                runroot = try directory.sub("\(name)/run")
                tmpdir = try directory.sub("\(name)/tmp")
                let conf = "\(directory.path)/\(name).conf"
                try """
                [storage]
                driver = "\(driver)"
                graphroot = "\(root)"
                runroot = "\(runroot)"
                [storage.options.pull_options]
                enable_partial_images = "\(partialPulls)"
                """.write(toFile: conf, atomically: true, encoding: .utf8)
                environment = [
                    "CONTAINERS_STORAGE_CONF": conf,
                    "BUILDAH_ISOLATION": "chroot",
                    "TMPDIR": tmpdir,
                ]
            }

            var storageFlags: [String] { ["--root", root, "--runroot", runroot, "--storage-driver", driver] }
            var podmanFlags: [String] {
                storageFlags + ["--tmpdir", tmpdir, "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
            }

            @discardableResult
            func buildah(_ arguments: [String]) throws -> ToolResult {
                try run("buildah", storageFlags + arguments, environment: environment)
            }

            @discardableResult
            func podman(_ arguments: [String]) throws -> ToolResult {
                try run("podman", podmanFlags + arguments, environment: environment)
            }

            func podmanAllowingFailure(_ arguments: [String]) throws -> ToolResult {
                try runAllowingFailure("podman", podmanFlags + arguments, environment: environment)
            }

            func trimmed(_ result: ToolResult) -> String { result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
        }

        @Test func buildahBuildPodmanPushRemovePull() throws {
            // Fail (not skip) with the package name when a tool is missing.
            _ = try requireTool("buildah")
            _ = try requireTool("podman")
            let fixture = try RegistryFixture("podman")
            defer { fixture.tearDown() }
            let storage = try Storage(in: fixture.directory)
            let payload = "hello from stowage \(UUID().uuidString)\n"
            let context = try fixture.directory.sub("context")
            try payload.write(toFile: "\(context)/hello.txt", atomically: true, encoding: .utf8)

            let container = storage.trimmed(try storage.buildah(["from", "scratch"]))
            try storage.buildah(["copy", container, "\(context)/hello.txt", "/hello.txt"])
            try storage.buildah(["config", "--cmd", "/hello.txt", "--label", "org.example.test=stowage", container])
            try storage.buildah(["commit", "--quiet", container, "localhost/hello:latest"])
            try storage.buildah(["rm", container])

            let remote = "\(fixture.hostPort)/seed/hello:1"
            try storage.podman(["tag", "localhost/hello:latest", remote])
            let idBefore = storage.trimmed(try storage.podman(["image", "inspect", "--format", "{{.Id}}", remote]))
            #expect(!idBefore.isEmpty)
            try storage.podman(["push", "--tls-verify=false", remote])

            try storage.podman(["rmi", "localhost/hello:latest", remote])
            let exists = try storage.podmanAllowingFailure(["image", "exists", remote])
            #expect(!exists.succeeded, "the image must be gone locally before the pull")

            try storage.podman(["pull", "--tls-verify=false", remote])
            let idAfter = storage.trimmed(try storage.podman(["image", "inspect", "--format", "{{.Id}}", remote]))
            #expect(idAfter == idBefore, "the pulled image must have the same id (config digest) as the pushed one")
            let label = storage.trimmed(try storage.podman(["image", "inspect", "--format", "{{index .Labels \"org.example.test\"}}", remote]))
            #expect(label == "stowage")

            // The file is in the pulled image: mount its root file system (vfs: a plain directory).
            let working = storage.trimmed(try storage.buildah(["from", "--pull-never", remote]))
            let mountPoint = storage.trimmed(try storage.buildah(["mount", working]))
            let content = try String(contentsOfFile: "\(mountPoint)/hello.txt", encoding: .utf8)
            #expect(content == payload, "the pulled image must contain the file that was built into it")
            try storage.buildah(["umount", working])
            try storage.buildah(["rm", working])

            let catalog = try RegistryClient(port: fixture.port).request("GET", "/v2/_catalog")
            #expect(catalog.status == 200)
            #expect(try jsonObject(catalog.body)["repositories"] as? [String] == ["seed/hello"])
            let tags = try RegistryClient(port: fixture.port).request("GET", "/v2/seed/hello/tags/list")
            #expect(try jsonObject(tags.body)["tags"] as? [String] == ["1"])
        }
    }
}
