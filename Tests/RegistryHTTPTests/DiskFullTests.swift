import Foundation
import HTTPTypes
import HummingbirdTesting
import RegistryCore
import Testing
import TestSupport

/// A tool run to completion: its exit status and what it wrote to stderr.
private func runTool(_ arguments: [String]) async throws -> (status: Int32, stderr: String) {
    let result = try await ChildProcess.run("/usr/bin/env", arguments)
    return (result.status, result.stderr)
}

private struct MountFailure: Error, CustomStringConvertible {
    let description: String
}

/// Runs `body` with a fresh 16 MiB tmpfs as its directory, unmounted afterwards. Mounting
/// needs root (scripts/test and CI run the tests as root) and mount(8) (Debian package
/// `mount`); without them the test fails saying so, it never skips.
private func withSmallFilesystem<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-full-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let mount = try await runTool(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", directory])
    guard mount.status == 0 else {
        throw MountFailure(description: """
            mounting a 16 MiB tmpfs at \(directory) failed (exit \(mount.status)): \(mount.stderr)
            This test needs root (or CAP_SYS_ADMIN) and mount(8) from the Debian package 'mount'; scripts/test and CI run as root.
            """)
    }
    let result: Result<T, any Error>
    do {
        result = .success(try await body(directory))
    } catch {
        result = .failure(error)
    }
    if try await runTool(["umount", directory]).status != 0 {
        _ = try await runTool(["umount", "-l", directory])
    }
    return try result.get()
}

@Suite("Disk full and the free-space floor", .serialized)
struct DiskFullTests {
    @Test("pushing until the disk is full: the push fails cleanly, nothing is corrupted, and deletes + GC make room again")
    func fillTheDisk() async throws {
        try await withSmallFilesystem { directory in
            var cfg = RegistryConfiguration()
            cfg.dataDirectory = directory
            cfg.limits.minFreeSpace = .bytes(0)
            cfg.gcDelay = .zero
            try await serveLive(cfg) { registry, r in
                // Given images with a 1 MiB layer pushed until the 16 MiB filesystem is full
                var images: [(manifest: String, layer: String, bytes: [UInt8])] = []
                var refused: (path: String, response: TestResponse)?
                pushing: for index in 0..<40 {
                    let config = jsonBytes(["architecture": "amd64", "os": "linux", "index": index])
                    let layer = randomBytes(1 << 20)
                    for blob in [config, layer] {
                        let response = try await r.send(.post, "/v2/fill/blobs/uploads/?digest=\(sha256(blob))", body: blob)
                        guard response.status == .created else {
                            refused = ("/v2/fill/blobs/\(sha256(blob))", response)
                            break pushing
                        }
                    }
                    let manifest = imageManifest(config: Desc(mediaType: Media.ociConfig, digest: sha256(config), size: config.count),
                                                 layers: [Desc(mediaType: Media.ociLayer, digest: sha256(layer), size: layer.count)])
                    let response = try await r.putManifest("fill", "v\(index)", manifest)
                    guard response.status == .created else {
                        refused = ("/v2/fill/manifests/\(sha256(manifest))", response)
                        break
                    }
                    images.append((sha256(manifest), sha256(layer), layer))
                }
                // Then the push that did not fit gets an error, not a hang and not a crash
                let failure = try #require(refused, "40 MiB of pushes never filled the 16 MiB filesystem")
                expectError(failure.response, .serviceUnavailable, "UNAVAILABLE")
                #expect(errorMessage(failure.response).contains("insufficient disk space"), "\(failure.response.text)")
                #expect(failure.response.headers[.retryAfter] != nil)
                #expect(images.count >= 8, "only \(images.count) images fitted")
                // The server is up, what failed is not visible, no partial upload is left
                #expect(try await r.get("/v2/").status == .ok)
                expectHeadError(try await r.head(failure.path), .notFound)
                #expect(try FileManager.default.contentsOfDirectory(atPath: registry.paths.uploadsDirectory).isEmpty)
                // Every acknowledged image is intact
                for image in images {
                    #expect(try await r.head("/v2/fill/manifests/\(image.manifest)").status == .ok)
                    let response = try await r.get("/v2/fill/blobs/\(image.layer)")
                    #expect(response.status == .ok && sha256(response.bytes) == image.layer)
                }
                // The database is sound
                let check = try QueryResult.run("PRAGMA integrity_check", databasePath: registry.paths.database)
                #expect(check.rows == [["ok"]])
                // When some images are deleted and collected, pushes are accepted again
                for image in images.prefix(4) {
                    #expect(try await r.send(.delete, "/v2/fill/manifests/\(image.manifest)").status == .accepted)
                }
                var options = registry.configuration.gcOptions
                options.delay = .zero
                let report = try await GarbageCollector(registry: registry).run(options)
                #expect(Set(images.prefix(4).map(\.layer)).isSubset(of: Set(report.blobs.map(\.digest))))
                try await r.pushBlob("fill", randomBytes(1 << 20))
                try await r.pushImage("fill", tag: "after")
                for image in images.dropFirst(4) {
                    #expect(sha256(try await r.get("/v2/fill/blobs/\(image.layer)").bytes) == image.layer)
                }
            }
        }
    }

    @Test("below storage.min_free_space pushes are refused with 503 and the free space and floor; pulls and deletes work")
    func floor() async throws {
        try await withDataDirectory { directory in
            var cfg = testConfiguration(directory)
            cfg.limits.minFreeSpace = .bytes(0)
            let (image, session) = try await serveLive(cfg) { _, r in
                (try await r.pushImage("app", tag: "v1"), try await r.startUpload("app"))
            }
            // When the floor is above the free space
            let space = try #require(DiskSpace.of(directory))
            cfg.limits.minFreeSpace = .bytes(space.available + (1 << 30))
            try await serveLive(cfg) { _, r in
                let bytes = randomBytes(100)
                let pushes: [(HTTPRequest.Method, String, [UInt8]?)] = [
                    (.post, "/v2/app/blobs/uploads/", nil),
                    (.post, "/v2/app/blobs/uploads/?digest=\(sha256(bytes))", bytes),
                    (.patch, session, bytes),
                    (.put, "\(session)?digest=\(sha256(bytes))", bytes),
                    (.put, "/v2/app/manifests/v2", image.manifest),
                ]
                for (method, path, body) in pushes {
                    let response = try await r.send(method, path, headers: [.contentType: Media.ociManifest], body: body)
                    expectError(response, .serviceUnavailable, "UNAVAILABLE")
                    let message = errorMessage(response)
                    #expect(message.hasPrefix("insufficient disk space: ") && message.contains(" free, floor "), "\(method) \(path): \(message)")
                    #expect(response.headers[.retryAfter] != nil)
                }
                // Then pulls work, and deletes (which free space) are not refused
                #expect(try await r.get("/v2/app/manifests/v1", headers: [.accept: Media.ociManifest]).bytes == image.manifest)
                #expect(try await r.get("/v2/app/blobs/\(image.layers[0].digest)").bytes == image.layerBytes[0])
                #expect(try await r.send(.delete, "/v2/app/manifests/v1").status == .accepted)
            }
        }
    }
}
