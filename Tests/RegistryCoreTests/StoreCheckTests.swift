import Foundation
import GRDB
import Logging
import OCI
@testable import RegistryCore
import Testing

#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// `registry check` on a real store: images pushed through the registry's facade,
/// then one inconsistency planted the way a disk, an operator or a crash would.
@Suite("Store check")
struct StoreCheckTests {
    @Test("a clean store with images and an index passes, digests verified")
    func cleanStorePasses() async throws {
        let store = try CheckStore()
        let image = try await store.pushImage("team/app", tag: "v1", layers: [randomBytes(3000), randomBytes(70_000)])
        let other = try await store.pushImage("team/app", tag: nil, layers: [randomBytes(500)])
        try await store.pushIndex("team/app", tag: "multi", children: [image, other])
        let report = try await store.check(verifyDigests: true)
        #expect(report.isClean, "\(report.summary)")
        #expect(report.exitCode == 0)
        #expect(report.counts.manifests == 3)
        // One config shared by both images, three layers.
        #expect(report.counts.blobRows == 4)
        #expect(report.counts.blobFiles == 4)
        #expect(report.counts.blobsHashed == 4)
        #expect(report.summary.hasPrefix("store check: OK"))
    }

    @Test("a blob file that is gone is reported with the images it breaks and what to do")
    func missingBlobFile() async throws {
        let store = try CheckStore()
        let image = try await store.pushImage("team/app", tag: "v1", layers: [randomBytes(2000)])
        try await store.pushIndex("team/app", tag: "multi", children: [image])
        let layer = image.layers[0]
        #expect(unlink(store.paths.blob(layer)) == 0)

        let report = try await store.check()
        #expect(report.exitCode == 1)
        let problems = report.problems(.missingBlobFile)
        try #require(problems.count == 1, "\(report.summary)")
        #expect(problems[0].message == "blob \(layer) (2000 bytes) has a row but no file")
        let broken = Set((problems[0].affected ?? []).map(\.label))
        #expect(broken == ["team/app:v1", "team/app:multi"])
        #expect(report.summary.contains("breaks: "))
        #expect(report.summary.contains("push the affected images again"))
        // Nothing was deleted: the row is still there.
        #expect(try await store.blobRowExists(layer))
    }

    @Test("a blob file of the wrong size is reported")
    func wrongSize() async throws {
        let store = try CheckStore()
        let image = try await store.pushImage("team/app", tag: "v1", layers: [randomBytes(1000)])
        let handle = try #require(FileHandle(forWritingAtPath: store.paths.blob(image.layers[0])))
        handle.seekToEndOfFile()
        handle.write(Data([1, 2, 3]))
        try handle.close()

        let report = try await store.check()
        #expect(report.exitCode == 1)
        let problems = report.problems(.wrongBlobSize)
        try #require(problems.count == 1, "\(report.summary)")
        #expect(problems[0].message == "blob \(image.layers[0]): the file has 1003 bytes, the row says 1000")
        #expect(problems[0].affected?.map(\.label) == ["team/app:v1"])
    }

    @Test("corrupted content of the right size is found only by --verify-digests")
    func corruptedContent() async throws {
        let store = try CheckStore()
        let image = try await store.pushImage("team/app", tag: "v1", layers: [randomBytes(3 << 20)])
        let path = store.paths.blob(image.layers[0])
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        handle.seek(toFileOffset: 2 << 20)
        let original = handle.readData(ofLength: 1)[0]
        handle.seek(toFileOffset: 2 << 20)
        handle.write(Data([original ^ 0xFF]))
        try handle.close()

        let quick = try await store.check()
        #expect(quick.isClean, "without --verify-digests the size matches and nothing is read")
        let verified = try await store.check(verifyDigests: true)
        #expect(verified.exitCode == 1)
        let problems = verified.problems(.digestMismatch)
        try #require(problems.count == 1, "\(verified.summary)")
        #expect(problems[0].message.hasPrefix("blob \(image.layers[0]): the file's content hashes to sha256:"))
        #expect(problems[0].affected?.map(\.label) == ["team/app:v1"])
    }

    @Test("an old orphan file is a problem, a recent one is not counted, --repair removes the old one")
    func orphanFiles() async throws {
        let store = try CheckStore()
        try await store.pushImage("team/app", tag: "v1", layers: [randomBytes(100)])
        let old = try store.plantBlobFile(randomBytes(4321), ageSeconds: 7200)
        let recent = try store.plantBlobFile(randomBytes(99), ageSeconds: 0)

        let report = try await store.check()
        #expect(report.exitCode == 1)
        let problems = report.problems(.orphanBlobFile)
        try #require(problems.count == 1, "\(report.summary)")
        #expect(problems[0].message == "\(store.paths.blob(old)) (4321 bytes) has no blob row")
        #expect(report.recentFiles == [store.paths.blob(recent)])

        let repaired = try await store.check(repair: true)
        #expect(repaired.isClean, "\(repaired.summary)")
        #expect(repaired.repaired == ["moved orphan file \(store.paths.blob(old)) to trash and deleted it"])
        #expect(!FileManager.default.fileExists(atPath: store.paths.blob(old)))
        #expect(FileManager.default.fileExists(atPath: store.paths.blob(recent)), "a recent file may be a push in progress")
        #expect(store.registry.store.trashedDigests().isEmpty)
        let (journal, audited) = try await store.registry.database.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM blob_deletions") ?? -1,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_events WHERE actor = 'registry-check' AND action = 'gc.orphan.delete' AND digest = ?",
                              arguments: [old.description]) ?? -1)
        }
        #expect(journal == 0)
        #expect(audited == 1)
        let again = try await store.check()
        #expect(again.problems(.orphanBlobFile).isEmpty)
    }

    @Test("an old upload file without a session is reported and repaired")
    func orphanUploadFile() async throws {
        let store = try CheckStore()
        let name = UUID().uuidString.lowercased()
        let path = "\(store.paths.uploadsDirectory)/\(name)"
        try store.writeFile(path, randomBytes(10), ageSeconds: 7200)
        let report = try await store.check()
        #expect(report.problems(.orphanUploadFile).map(\.path) == [path], "\(report.summary)")
        let repaired = try await store.check(repair: true)
        #expect(repaired.isClean, "\(repaired.summary)")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a manifest that references a blob with no row is reported")
    func manifestMissingBlobRow() async throws {
        let store = try CheckStore()
        let image = try await store.pushImage("team/app", tag: "v1", layers: [randomBytes(10)])
        let ghost = Digest.of(randomBytes(16))
        try await store.withoutForeignKeys { db in
            try db.execute(sql: """
                INSERT INTO manifest_blobs(manifest_id, digest) SELECT id, ? FROM manifests WHERE digest = ?
                """, arguments: [ghost.description, image.digest.description])
        }
        let report = try await store.check()
        #expect(report.exitCode == 1)
        #expect(report.problems(.manifestMissingBlob).map(\.message)
                == ["manifest team/app@\(image.digest) references blob \(ghost), which has no row"], "\(report.summary)")
        #expect(report.problems(.foreignKey).isEmpty, "the dedicated message replaces the raw foreign key violation")
    }

    @Test("a tag that points to a missing manifest is reported")
    func tagMissingManifest() async throws {
        let store = try CheckStore()
        try await store.pushImage("team/app", tag: "v1", layers: [randomBytes(10)])
        try await store.withoutForeignKeys { db in
            try db.execute(sql: "UPDATE tags SET manifest_id = 424242 WHERE name = 'v1'")
        }
        let report = try await store.check()
        #expect(report.exitCode == 1)
        #expect(report.problems(.tagMissingManifest).map(\.message)
                == ["tag team/app:v1 points to manifest id 424242, which does not exist"], "\(report.summary)")
    }

    @Test("an index whose child manifest is missing is reported")
    func indexMissingChild() async throws {
        let store = try CheckStore()
        let image = try await store.pushImage("team/app", tag: "v1", layers: [randomBytes(10)])
        let index = try await store.pushIndex("team/app", tag: "multi", children: [image])
        try await store.withoutForeignKeys { db in
            try db.execute(sql: "UPDATE manifest_children SET child_id = 777")
        }
        let report = try await store.check()
        #expect(report.problems(.indexMissingChild).map(\.message)
                == ["index team/app@\(index.digest) lists manifest id 777, which does not exist"], "\(report.summary)")
    }

    @Test("leftovers of an interrupted GC are reported, and --repair (GC recovery) finishes them")
    func trashLeftovers() async throws {
        let store = try CheckStore()
        try await store.pushImage("team/app", tag: "v1", layers: [randomBytes(10)])
        // A GC that committed a deletion and died before purging: a journal row and its trash file.
        let deleted = Digest.of(randomBytes(64))
        try store.writeFile(store.registry.store.trashPath(deleted), randomBytes(64), ageSeconds: 0)
        try await store.registry.database.pool.write { db in
            try db.execute(sql: "INSERT INTO blob_deletions(digest, size) VALUES (?, 64)", arguments: [deleted.description])
        }
        let report = try await store.check()
        #expect(report.exitCode == 1)
        #expect(report.problems(.trashLeftover).map(\.digest) == [deleted.description], "\(report.summary)")
        #expect(report.problems(.deletionJournalLeftover).map(\.digest) == [deleted.description])
        #expect(report.summary.contains("the next GC run (or registry check --repair) finishes them"))

        let repaired = try await store.check(repair: true)
        #expect(repaired.isClean, "\(repaired.summary)")
        #expect(store.registry.store.trashedDigests().isEmpty)
        #expect(try await store.check().isClean)
    }

    @Test("the JSON report names each problem's kind")
    func jsonReport() async throws {
        let store = try CheckStore()
        let image = try await store.pushImage("team/app", tag: "v1", layers: [randomBytes(10)])
        unlink(store.paths.blob(image.config))
        let report = try await store.check()
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
        let problems = try #require(json?["problems"] as? [[String: Any]])
        #expect(problems.map { $0["kind"] as? String } == ["missing_blob_file"])
        #expect(problems.first?["digest"] as? String == image.config.description)
    }
}

// MARK: Fixture

/// A registry of its own in a fresh temporary directory; pushes go through the facade.
final class CheckStore: Sendable {
    struct Image: Sendable {
        var digest: Digest
        var config: Digest
        var layers: [Digest]
        var payload: [UInt8]
    }

    let directory: String
    let registry: Registry
    let audit = AuditContext(actor: "check-tests")

    init() throws {
        directory = NSTemporaryDirectory() + "stowage-check-" + UUID().uuidString.prefix(8)
        var configuration = RegistryConfiguration()
        configuration.dataDirectory = directory
        configuration.syncWrites = false
        var logger = Logger(label: "stowage-check-tests")
        logger.logLevel = .critical
        registry = try Registry.open(configuration: configuration, logger: logger)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var paths: StoragePaths { registry.paths }

    func check(verifyDigests: Bool = false, repair: Bool = false) async throws -> CheckReport {
        var options = CheckOptions(recentWindow: .seconds(3600))
        options.verifyDigests = verifyDigests
        options.repair = repair
        return try await StoreChecker(registry: registry).check(options)
    }

    @discardableResult
    func pushBlob(_ repository: String, _ bytes: [UInt8]) async throws -> Digest {
        let name = try #require(RepositoryName(repository))
        let digest = Digest.of(bytes)
        _ = try await registry.pushBlob(name, digest: digest, length: Int64(bytes.count), body: UploadBody(bytes), audit: audit)
        return digest
    }

    @discardableResult
    func pushImage(_ repository: String, tag: String?, layers: [[UInt8]]) async throws -> Image {
        let config = Array(#"{"architecture":"amd64","os":"linux"}"#.utf8)
        let configDigest = try await pushBlob(repository, config)
        var layerDigests: [Digest] = []
        for bytes in layers { layerDigests.append(try await pushBlob(repository, bytes)) }
        let payload = try json([
            "schemaVersion": 2, "mediaType": MediaType.ociManifest,
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest.description, "size": config.count],
            "layers": zip(layerDigests, layers).map { digest, bytes -> [String: Any] in
                ["mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest.description, "size": bytes.count]
            },
        ])
        let digest = try await put(repository, tag: tag, payload: payload, mediaType: MediaType.ociManifest)
        return Image(digest: digest, config: configDigest, layers: layerDigests, payload: payload)
    }

    @discardableResult
    func pushIndex(_ repository: String, tag: String, children: [Image]) async throws -> Image {
        let payload = try json([
            "schemaVersion": 2, "mediaType": MediaType.ociIndex,
            "manifests": children.enumerated().map { index, child -> [String: Any] in
                ["mediaType": MediaType.ociManifest, "digest": child.digest.description, "size": child.payload.count,
                 "platform": ["architecture": "arch\(index)", "os": "linux"]]
            },
        ])
        let digest = try await put(repository, tag: tag, payload: payload, mediaType: MediaType.ociIndex)
        return Image(digest: digest, config: digest, layers: [], payload: payload)
    }

    private func put(_ repository: String, tag: String?, payload: [UInt8], mediaType: String) async throws -> Digest {
        let digest = Digest.of(payload)
        let reference: Reference = try tag.map { .tag(try #require(Tag($0))) } ?? .digest(digest)
        let result = try await registry.putManifest(try #require(RepositoryName(repository)), reference: reference,
                                                    payload: payload, contentType: mediaType, audit: audit)
        return result.digest
    }

    private func json(_ object: [String: Any]) throws -> [UInt8] {
        [UInt8](try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    func blobRowExists(_ digest: Digest) async throws -> Bool {
        try await registry.database.pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM blobs WHERE digest = ?)", arguments: [digest.description]) ?? false
        }
    }

    /// Plants a file under blobs/ with no row, its mtime `ageSeconds` in the past.
    func plantBlobFile(_ bytes: [UInt8], ageSeconds: Int) throws -> Digest {
        let digest = Digest.of(bytes)
        try FileManager.default.createDirectory(atPath: paths.blobDirectory(digest), withIntermediateDirectories: true)
        try writeFile(paths.blob(digest), bytes, ageSeconds: ageSeconds)
        return digest
    }

    func writeFile(_ path: String, _ bytes: [UInt8], ageSeconds: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw CheckStoreError("cannot write \(path)") }
        let when = Date().addingTimeInterval(-Double(ageSeconds))
        try FileManager.default.setAttributes([.modificationDate: when], ofItemAtPath: path)
    }

    /// Runs `body` with foreign keys off, as an operator's sqlite3 session or a bug could.
    func withoutForeignKeys(_ body: @escaping @Sendable (Database) throws -> Void) async throws {
        try await registry.database.pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
            try body(db)
        }
    }
}

struct CheckStoreError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

