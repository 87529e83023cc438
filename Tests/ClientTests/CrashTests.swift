import Crypto
import Foundation
import GRDB
import Testing
import TestSupport

/// SIGKILL the server at the worst moments, restart it on the same data directory,
/// and check what a client would notice: acknowledged data is intact, nothing
/// unacknowledged became visible, and the store is consistent.
extension ClientTests {
    @Suite struct CrashTests {
        /// Checks shared by every crash test: SQLite is intact and blobs/ matches table blobs.
        static func expectConsistentStore(_ dataDirectory: String) throws {
            let store = StoreInspector(dataDirectory: dataDirectory)
            let integrity = try store.integrity()
            #expect(integrity.integrity == ["ok"], "PRAGMA integrity_check must return ok")
            #expect(integrity.foreignKeyViolations == 0, "PRAGMA foreign_key_check must be empty")
            let files = try store.blobFiles(), rows = try store.blobRows()
            #expect(files.subtracting(rows).isEmpty, "files in blobs/ without a row in table blobs: \(files.subtracting(rows).sorted())")
            #expect(rows.subtracting(files).isEmpty, "rows in table blobs without a file (corruption): \(rows.subtracting(files).sorted())")
        }

        @Test func killDuringLargeUpload() throws {
            let fixture = try RegistryFixture("crash-upload")
            defer { fixture.tearDown() }
            let client = RegistryClient(port: fixture.port)
            let repository = "crash/upload"

            // A 200 MiB body: 1 MiB of random bytes, varied per MiB, hashed as it is made.
            let totalMiB = 200, mib = 1 << 20
            let seed = randomBytes(mib)
            let chunk: @Sendable (Int) -> [UInt8] = { i in
                var bytes = seed
                withUnsafeBytes(of: UInt64(i).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
                return bytes
            }
            var hasher = SHA256()
            for i in 0..<totalMiB { hasher.update(data: chunk(i)) }
            let bigDigest = "sha256:" + hasher.finalize().map { String(format: "%02x", $0) }.joined()

            let session = try client.request("POST", "/v2/\(repository)/blobs/uploads/")
            try #require(session.status == 202, "POST must open a session:\n\(session)")
            let location = try #require(session.header("Location"))
            let sessionID = try #require(location.split(separator: "/").last.map(String.init))

            // The big PATCH streams 64 MiB, then pauses until the server has been killed.
            let sentMiB = Locked(0)
            let resume = DispatchSemaphore(value: 0)
            let port = fixture.port
            let upload = BackgroundJob { () -> RawHTTPResponse? in
                let connection = try RawHTTPConnection(port: port)
                try connection.sendHead("PATCH", location, headers: [
                    ("Content-Type", "application/octet-stream"), ("Content-Length", String(totalMiB * mib)),
                ])
                for i in 0..<totalMiB {
                    if i == 64 { resume.wait() }
                    do { try connection.send(chunk(i)) } catch { return nil }
                    sentMiB.withLock { $0 = i + 1 }
                }
                return try? connection.readResponse(method: "PATCH")
            }
            defer { resume.signal() }  // never leave the sender waiting, even when the test fails early
            // Meanwhile other clients push small blobs; each 201 is a promise.
            let acknowledged = try BackgroundJob { () -> [(digest: String, bytes: [UInt8])] in
                var acknowledged: [(digest: String, bytes: [UInt8])] = []
                for i in 0..<24 {
                    let bytes = randomBytes([1, 100, 70_000, 1_500_000][i % 4] + i)
                    let response = try client.uploadBlob(i % 2 == 0 ? repository : "crash/other", bytes)
                    guard response.status == 201, response.header("Docker-Content-Digest") == sha256(bytes) else {
                        throw ClientTestError("small upload \(i) was not acknowledged:\n\(response)")
                    }
                    acknowledged.append((sha256(bytes), bytes))
                }
                return acknowledged
            }.join()

            // Kill only once the server has really written unacknowledged bytes to disk.
            let uploadFile = "\(fixture.dataDirectory)/uploads/\(sessionID)"
            let deadline = Date().addingTimeInterval(60)
            var onDisk: Int64 = 0
            while Date() < deadline {
                onDisk = (try? FileManager.default.attributesOfItem(atPath: uploadFile)[.size] as? Int64) ?? 0
                if onDisk >= 32 * Int64(mib) { break }
                usleep(50_000)
            }
            try #require(onDisk >= 32 * Int64(mib), "the server never wrote 32 MiB of the streamed body (sent \(sentMiB.current) MiB)")
            fixture.registry.kill9()
            resume.signal()
            let answer = try upload.join()
            #expect(answer == nil || answer?.status != 202, "a killed server cannot have acknowledged the PATCH")
            #expect(sentMiB.current < totalMiB, "the kill must land mid-body")

            try fixture.registry.start()

            for (index, blob) in acknowledged.enumerated() {
                let name = index % 2 == 0 ? repository : "crash/other"
                let got = try client.request("GET", "/v2/\(name)/blobs/\(blob.digest)")
                #expect(got.status == 200, "acknowledged blob \(blob.digest) must survive the crash")
                #expect(sha256(got.body) == blob.digest && got.body.count == blob.bytes.count,
                        "acknowledged blob \(blob.digest) must come back with its bytes")
            }
            let head = try client.request("HEAD", "/v2/\(repository)/blobs/\(bigDigest)")
            #expect(head.status == 404, "the half-uploaded blob must not be visible")

            // The session still exists with nothing acknowledged; its unacknowledged bytes
            // are discarded, so a fresh upload through it gets exactly its own digest.
            let status = try client.request("GET", location)
            #expect(status.status == 204)
            #expect(status.header("Range") == "0-0", "no byte of the killed PATCH was acknowledged")
            let small = Array("after the crash".utf8)
            let patched = try client.request("PATCH", location, headers: [("Content-Range", "0-\(small.count - 1)")], body: small)
            #expect(patched.status == 202, "the session continues from its acknowledged size:\n\(patched)")
            let finished = try client.request("PUT", "\(location)?digest=\(sha256(small))")
            #expect(finished.status == 201, "the session completes with only its acknowledged bytes:\n\(finished)")
            #expect(try client.request("GET", "/v2/\(repository)/blobs/\(sha256(small))").body == small)

            try Self.expectConsistentStore(fixture.dataDirectory)
        }

        @Test func killDuringManifestPushes() throws {
            let fixture = try RegistryFixture("crash-manifests")
            defer { fixture.tearDown() }
            let client = RegistryClient(port: fixture.port)
            let repository = "crash/manifests"
            let base = try TestImage(layerSizes: [2048])
            try client.push(base, to: repository, tag: "base")

            struct Pushed { let tag: String; let manifest: Blob }
            let pushed = Locked<[Pushed]>([])
            let loop = BackgroundJob { () -> Int in
                var attempts = 0
                for i in 0..<100_000 {
                    let manifest = Blob(mediaType: MediaTypes.manifest, bytes: try json([
                        "schemaVersion": 2, "mediaType": MediaTypes.manifest,
                        "config": base.config.descriptor, "layers": base.layers.map(\.descriptor),
                        "annotations": ["org.example.sequence": String(i)],
                    ]))
                    attempts += 1
                    guard let response = try? client.putManifest(repository, "m\(i)", manifest) else { break }
                    guard response.status == 201 else { break }
                    guard response.header("Docker-Content-Digest") == manifest.digest else {
                        throw ClientTestError("201 for m\(i) with the wrong digest:\n\(response)")
                    }
                    pushed.withLock { $0.append(Pushed(tag: "m\(i)", manifest: manifest)) }
                }
                return attempts
            }
            let deadline = Date().addingTimeInterval(60)
            while pushed.withLock({ $0.count }) < 40, Date() < deadline { usleep(5_000) }
            fixture.registry.kill9()
            let attempts = try loop.join()
            let acknowledged = pushed.withLock { $0 }
            try #require(acknowledged.count >= 40, "the loop must have pushed manifests before the kill")
            #expect(attempts < 100_000, "the kill must land while manifests are being pushed")

            try fixture.registry.start()

            for item in acknowledged {
                for reference in [item.tag, item.manifest.digest] {
                    let got = try client.request("GET", "/v2/\(repository)/manifests/\(reference)",
                                                 headers: [("Accept", MediaTypes.manifest)])
                    #expect(got.status == 200, "acknowledged manifest \(reference) must survive the crash")
                    #expect(got.body == item.manifest.bytes, "manifest \(reference) must be served with its exact bytes")
                    #expect(got.header("Docker-Content-Digest") == item.manifest.digest)
                }
            }
            let tags = try jsonObject(try client.request("GET", "/v2/\(repository)/tags/list").body)["tags"] as? [String] ?? []
            #expect(Set(acknowledged.map(\.tag)).isSubset(of: Set(tags)), "every acknowledged tag must be listed")

            let incomplete = try StoreInspector(dataDirectory: fixture.dataDirectory).database().read { db in
                try String.fetchAll(db, sql: """
                    SELECT m.digest FROM manifests m
                    WHERE (SELECT count(*) FROM manifest_blobs mb WHERE mb.manifest_id = m.id) != 2
                    """)
            }
            #expect(incomplete.isEmpty, "manifests lacking their manifest_blobs rows: \(incomplete)")
            try Self.expectConsistentStore(fixture.dataDirectory)
        }

        @Test func uploadSessionSurvivesRestart() throws {
            let fixture = try RegistryFixture("crash-session")
            defer { fixture.tearDown() }
            let client = RegistryClient(port: fixture.port)
            let repository = "crash/session"
            let content = randomBytes(3 * 1024 * 1024 + 333)
            let first = Array(content[0..<1_000_000]), second = Array(content[1_000_000..<2_500_000])
            let last = Array(content[2_500_000...])

            let session = try client.request("POST", "/v2/\(repository)/blobs/uploads/")
            try #require(session.status == 202, "\(session)")
            let location = try #require(session.header("Location"))
            let patched = try client.request("PATCH", location, headers: [
                ("Content-Type", "application/octet-stream"), ("Content-Range", "0-\(first.count - 1)"),
            ], body: first)
            try #require(patched.status == 202, "\(patched)")
            #expect(patched.header("Range") == "0-\(first.count - 1)")

            try fixture.registry.crashAndRestart()

            let status = try client.request("GET", location)
            #expect(status.status == 204, "the session must survive the restart:\n\(status)")
            #expect(status.header("Range") == "0-\(first.count - 1)", "the acknowledged range must survive the restart")
            #expect(status.header("Docker-Upload-UUID") == session.header("Docker-Upload-UUID"))

            // A chunk that does not continue the stored bytes is refused, and changes nothing.
            let overlapping = try client.request("PATCH", location, headers: [("Content-Range", "0-\(second.count - 1)")], body: second)
            #expect(overlapping.status == 416, "an out-of-order chunk must be refused with 416:\n\(overlapping)")

            let next = try client.request("PATCH", location, headers: [
                ("Content-Type", "application/octet-stream"),
                ("Content-Range", "\(first.count)-\(first.count + second.count - 1)"),
            ], body: second)
            #expect(next.status == 202, "\(next)")
            #expect(next.header("Range") == "0-\(first.count + second.count - 1)")

            try fixture.registry.restart()

            let digest = sha256(content)
            let done = try client.request("PUT", "\(location)?digest=\(digest)", headers: [
                ("Content-Type", "application/octet-stream"),
                ("Content-Range", "\(first.count + second.count)-\(content.count - 1)"),
            ], body: last)
            #expect(done.status == 201, "the upload completes after restarts:\n\(done)")
            #expect(done.header("Docker-Content-Digest") == digest)
            let blob = try client.request("GET", "/v2/\(repository)/blobs/\(digest)")
            #expect(blob.status == 200)
            #expect(blob.body.count == content.count)
            #expect(sha256(blob.body) == digest, "the stitched blob must have the digest of the whole content")
            #expect(try client.request("GET", location).status == 404, "a completed session is gone")
            try Self.expectConsistentStore(fixture.dataDirectory)
        }
    }
}
