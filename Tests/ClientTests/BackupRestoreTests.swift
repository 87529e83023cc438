import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `registry backup --blobs` while clients push and the server's GC runs every
/// second, then a restore into a fresh data directory: the restored server passes
/// `registry check` and serves every image pushed before the backup, hash-checked.
/// Also `registry check`'s exit codes as an operator's script sees them.
extension ClientTests {
    @Suite struct BackupRestoreTests {
        struct Pushed: Sendable {
            let repository: String
            let tag: String
            let manifest: [UInt8]
            let blobs: [String]
            let original: TestImage
        }

        @Test func backupDuringPushesRestoresToACheckedStore() throws {
            // GC every second (so the backup must wait for and hold the lease), with a
            // delay long enough that no push in flight loses its blobs.
            let fixture = try RegistryFixture("backup") { _ in ["--gc-interval", "1s", "--gc-delay", "60s"] }
            defer { fixture.tearDown() }
            let client = RegistryClient(port: fixture.port)

            var before: [Pushed] = []
            for i in 0..<6 {
                before.append(try Self.push(client, repository: "backup/before", tag: "v\(i)", layerSizes: [40_000, 300_000]))
            }

            // Three clients push while the backup runs.
            let stop = Locked(false)
            let during = Locked<[Pushed]>([])
            let port = fixture.port
            let pushers = (0..<3).map { worker in
                BackgroundJob { () -> Int in
                    var count = 0
                    while !stop.current, count < 200 {
                        let pushed = try Self.push(RegistryClient(port: port), repository: "backup/during\(worker)",
                                                   tag: "t\(count)", layerSizes: [20_000, 150_000])
                        during.withLock { $0.append(pushed) }
                        count += 1
                    }
                    return count
                }
            }
            usleep(300_000)
            let backupDirectory = try fixture.directory.sub("backup")
            let backup = try runRegistry(["backup", "--data-dir", fixture.dataDirectory,
                                          "\(backupDirectory)/registry.db", "--blobs", "\(backupDirectory)/blobs"])
            stop.withLock { $0 = true }
            let pushedDuring = try pushers.map { try $0.join(timeout: 120) }.reduce(0, +)
            try #require(backup.status == 0, "registry backup must succeed:\n\(backup.output)")
            #expect(backup.stdout.contains("database copied to \(backupDirectory)/registry.db"), "\(backup.output)")
            #expect(pushedDuring > 0, "clients must have pushed while the backup ran")

            // A second backup to the same file is refused without --force.
            let again = try runRegistry(["backup", "--data-dir", fixture.dataDirectory, "\(backupDirectory)/registry.db"])
            #expect(again.status == 1)
            #expect(again.stderr.contains("already exists (use --force to replace it)"), "\(again.output)")

            // Restore: the database file and the blob directory make a fresh data directory.
            let restored = try fixture.directory.sub("restored")
            try FileManager.default.copyItem(atPath: "\(backupDirectory)/registry.db", toPath: "\(restored)/registry.db")
            try FileManager.default.copyItem(atPath: "\(backupDirectory)/blobs", toPath: "\(restored)/blobs")
            let server = try RegistryProcess(dataDirectory: restored, logPath: "\(fixture.directory.path)/restored.log")
            defer { server.kill9() }

            let check = try runRegistry(["check", "--data-dir", restored, "--verify-digests"])
            #expect(check.status == 0, "registry check of the restored store must pass:\n\(check.output)")
            #expect(check.stdout.hasPrefix("store check: OK"), "\(check.output)")

            let restoredClient = RegistryClient(port: server.port)
            for image in before {
                try Self.expectPull(restoredClient, image)
            }
            // Images pushed during the backup are either wholly in it or not at all.
            var included = 0
            for image in during.current {
                let response = try restoredClient.request("GET", "/v2/\(image.repository)/manifests/\(image.tag)",
                                                          headers: [("Accept", MediaTypes.manifest)])
                guard response.status == 200 else {
                    #expect(response.status == 404, "\(response)")
                    continue
                }
                try Self.expectPull(restoredClient, image)
                included += 1
            }
            print("backup test: \(pushedDuring) images pushed during the backup, \(included) of them in it")
        }

        @Test func checkExitCodes() throws {
            let fixture = try RegistryFixture("check-exit")
            defer { fixture.tearDown() }
            let image = try Self.push(RegistryClient(port: fixture.port), repository: "check/app", tag: "v1", layerSizes: [5000])

            let clean = try runRegistry(["check", "--data-dir", fixture.dataDirectory])
            #expect(clean.status == 0, "\(clean.output)")

            let layer = image.blobs[1]
            let path = "\(fixture.dataDirectory)/blobs/sha256/\(layer.dropFirst(7).prefix(2))/\(layer.dropFirst(7))"
            #expect(unlink(path) == 0)
            let broken = try runRegistry(["check", "--data-dir", fixture.dataDirectory])
            #expect(broken.status == 1, "\(broken.output)")
            #expect(broken.stdout.contains("missing_blob_file: 1"), "\(broken.output)")
            #expect(broken.stdout.contains("blob \(layer) (5000 bytes) has a row but no file"), "\(broken.output)")
            #expect(broken.stdout.contains("breaks: check/app:v1"), "\(broken.output)")

            let json = try runRegistry(["check", "--data-dir", fixture.dataDirectory, "--json"])
            #expect(json.status == 1)
            let report = try jsonObject(json.stdoutBytes)
            #expect((report["problems"] as? [[String: Any]])?.first?["kind"] as? String == "missing_blob_file")

            // What the report says to do works: the lost blob is unknown to clients, so
            // pushing the image again uploads it and restores the file.
            let client = RegistryClient(port: fixture.port)
            #expect(try client.request("HEAD", "/v2/check/app/blobs/\(layer)").status == 404)
            try client.push(image.original, to: "check/app", tag: "v1")
            let healed = try runRegistry(["check", "--data-dir", fixture.dataDirectory, "--verify-digests"])
            #expect(healed.status == 0, "\(healed.output)")
            try Self.expectPull(client, image)

            let nowhere = try runRegistry(["check", "--data-dir", "\(fixture.directory.path)/no-such-store"])
            #expect(nowhere.status == 2, "\(nowhere.output)")
            #expect(nowhere.stderr.contains("no registry database at"), "\(nowhere.output)")
            #expect(!FileManager.default.fileExists(atPath: "\(fixture.directory.path)/no-such-store"), "check must create nothing")

            let usage = try runRegistry(["check", "--no-such-flag"])
            #expect(usage.status == 2, "\(usage.output)")
            #expect(usage.stderr.contains("Unknown option '--no-such-flag'"), "\(usage.output)")
        }

        static func push(_ client: RegistryClient, repository: String, tag: String, layerSizes: [Int]) throws -> Pushed {
            let image = try TestImage(layerSizes: layerSizes)
            try client.push(image, to: repository, tag: tag)
            return Pushed(repository: repository, tag: tag, manifest: image.manifest.bytes, blobs: image.blobs.map(\.digest), original: image)
        }

        /// Pulls the manifest by tag and every blob, each checked against its digest.
        static func expectPull(_ client: RegistryClient, _ image: Pushed) throws {
            let manifest = try client.request("GET", "/v2/\(image.repository)/manifests/\(image.tag)",
                                              headers: [("Accept", MediaTypes.manifest)])
            #expect(manifest.status == 200, "\(image.repository):\(image.tag): \(manifest)")
            #expect(manifest.body == image.manifest, "\(image.repository):\(image.tag) manifest bytes differ")
            for digest in image.blobs {
                let blob = try client.request("GET", "/v2/\(image.repository)/blobs/\(digest)")
                #expect(blob.status == 200, "\(image.repository) blob \(digest): HTTP \(blob.status)")
                #expect(sha256(blob.body) == digest, "\(image.repository) blob \(digest) content does not hash to its digest")
            }
        }
    }
}

/// Runs the built `registry` executable to completion (never through PATH).
func runRegistry(_ arguments: [String], timeout: TimeInterval = 300) throws -> ToolResult {
    let executable = RegistryProcess.executablePath
    guard FileManager.default.isExecutableFile(atPath: executable) else {
        throw ClientTestError("the registry executable is missing at \(executable): run `swift build` before `swift test`")
    }
    return try runExecutable(executable, named: "registry", arguments, timeout: timeout)
}
