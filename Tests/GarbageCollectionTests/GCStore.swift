import Foundation
import GRDB
import Logging
import OCI
@testable import RegistryCore
import Testing
import TestSupport

// The shared fixture of the GC tests: a registry of its own in a fresh temporary
// directory, a collector, and helpers that push blobs, images, indexes and artifacts
// through the registry's own facade, so that each test reads as the pushes, deletes
// and collections it checks.

/// A store of its own for one test; removed when the test lets go of it.
final class GCStore: Sendable {
    let directory: String
    let registry: Registry
    let collector: GarbageCollector
    let audit = AuditContext(actor: "gc-tests")

    /// `gcDelay` is the lease an uploaded blob gets; tests that need a lease to run out
    /// either wait (`waitForLeases`) or age rows with `expireLeases`.
    init(gcDelay: Duration = .seconds(3600), configure: (inout RegistryConfiguration) -> Void = { _ in }) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("stowage-gc-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var cfg = RegistryConfiguration()
        cfg.dataDirectory = directory
        cfg.syncWrites = false
        cfg.gcDelay = gcDelay
        configure(&cfg)
        var logger = Logger(label: "stowage-gc-tests")
        logger.logLevel = .critical
        registry = try Registry.open(configuration: cfg, logger: logger)
        collector = GarbageCollector(registry: registry, logger: logger)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    var paths: StoragePaths { registry.paths }
    var pool: DatabasePool { registry.database.pool }

    // MARK: Pushing

    /// Uploads `bytes` as a blob of `repository` the way the HTTP layer does:
    /// start a session, append, finish with the digest.
    @discardableResult
    func pushBlob(_ repository: String, _ bytes: [UInt8]) async throws -> Digest {
        let name = try repo(repository)
        let digest = Digest.of(bytes)
        _ = try await registry.pushBlob(name, digest: digest, length: Int64(bytes.count), body: UploadBody(bytes), audit: audit)
        return digest
    }

    /// Pushes the config and layers, then the manifest (by tag, or by digest when `tag` is nil).
    @discardableResult
    func pushImage(_ repository: String, tag: String?, layers: [[UInt8]], config: [UInt8]? = nil) async throws -> PushedManifest {
        let configBytes = config ?? Self.configBytes()
        let configDigest = try await pushBlob(repository, configBytes)
        var layerDescriptors: [[String: Any]] = []
        var blobs = [Blob(digest: configDigest, size: configBytes.count)]
        for bytes in layers {
            let digest = try await pushBlob(repository, bytes)
            layerDescriptors.append(descriptor(MediaType.ociLayerGzip, digest, bytes.count))
            blobs.append(Blob(digest: digest, size: bytes.count))
        }
        let payload = Self.json([
            "schemaVersion": 2, "mediaType": MediaType.ociManifest,
            "config": descriptor("application/vnd.oci.image.config.v1+json", configDigest, configBytes.count),
            "layers": layerDescriptors,
        ])
        return try await putManifest(repository, tag: tag, payload: payload, mediaType: MediaType.ociManifest, blobs: blobs)
    }

    /// Pushes an index of `children` (which must already be in `repository`).
    @discardableResult
    func pushIndex(_ repository: String, tag: String?, children: [PushedManifest]) async throws -> PushedManifest {
        let payload = Self.json([
            "schemaVersion": 2, "mediaType": MediaType.ociIndex,
            "manifests": children.map { child -> [String: Any] in
                var entry = descriptor(child.mediaType, child.digest, child.payload.count)
                entry["platform"] = ["architecture": "arch-\(child.digest.encoded.prefix(6))", "os": "linux"]
                return entry
            },
        ])
        return try await putManifest(repository, tag: tag, payload: payload, mediaType: MediaType.ociIndex, blobs: [])
    }

    /// Pushes an artifact (a signature, an SBOM) whose `subject` is `subject`: an empty
    /// config and one layer of its own.
    @discardableResult
    func pushArtifact(_ repository: String, subject: PushedManifest, tag: String? = nil) async throws -> PushedManifest {
        let empty = Array("{}".utf8)
        let emptyDigest = try await pushBlob(repository, empty)
        let content = randomBytes(300)
        let contentDigest = try await pushBlob(repository, content)
        let payload = Self.json([
            "schemaVersion": 2, "mediaType": MediaType.ociManifest,
            "artifactType": "application/vnd.example.signature.v1",
            "config": descriptor(MediaType.ociEmpty, emptyDigest, empty.count),
            "layers": [descriptor("application/vnd.example.signature.v1+json", contentDigest, content.count)],
            "subject": descriptor(subject.mediaType, subject.digest, subject.payload.count),
        ])
        return try await putManifest(
            repository, tag: tag, payload: payload, mediaType: MediaType.ociManifest,
            blobs: [Blob(digest: emptyDigest, size: empty.count), Blob(digest: contentDigest, size: content.count)])
    }

    func putManifest(
        _ repository: String, tag: String?, payload: [UInt8], mediaType: String, blobs: [Blob]
    ) async throws -> PushedManifest {
        let digest = Digest.of(payload)
        let reference: Reference = try tag.map { .tag(try #require(Tag($0))) } ?? .digest(digest)
        let result = try await registry.putManifest(try repo(repository), reference: reference, payload: payload,
                                                    contentType: mediaType, audit: audit)
        #expect(result.digest == digest)
        return PushedManifest(repository: repository, digest: digest, mediaType: mediaType, payload: payload, blobs: blobs)
    }

    func deleteManifest(_ manifest: PushedManifest) async throws {
        try await registry.deleteManifest(try repo(manifest.repository), .digest(manifest.digest), audit: audit)
    }

    func deleteTag(_ repository: String, _ tag: String) async throws {
        try await registry.deleteManifest(try repo(repository), .tag(try #require(Tag(tag))), audit: audit)
    }

    /// Pulls a tagged image the way a client does: manifest by tag, then every blob,
    /// each checked against its digest.
    func pull(_ manifest: PushedManifest, tag: String) async throws {
        let name = try repo(manifest.repository)
        let stored = try await registry.manifest(name, .tag(try #require(Tag(tag))))
        #expect(stored.digest == manifest.digest)
        #expect(stored.payload == manifest.payload)
        for blob in manifest.blobs {
            _ = try await registry.blob(name, blob.digest)
            #expect(try readBlobFile(blob.digest).map { Digest.of($0) } == blob.digest, "blob \(blob.digest) of \(manifest.digest)")
        }
    }

    // MARK: Collecting

    /// One collection. `delay` is the run's: manifests younger than it are roots.
    @discardableResult
    func gc(
        deleteUntagged: Bool = false, dryRun: Bool = false, full: Bool = false, delay: Duration = .zero,
        uploadTimeout: Duration = .seconds(24 * 3600)
    ) async throws -> GCReport {
        var options = GCOptions(delay: delay)
        options.deleteUntagged = deleteUntagged
        options.dryRun = dryRun
        options.fullScan = full
        options.uploadTimeout = uploadTimeout
        return try await collector.run(options)
    }

    /// Ends every blob lease now, as if the GC delay had passed since each upload.
    func expireLeases() async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE blobs SET protected_until = strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 seconds')")
        }
    }

    /// Sets one blob's lease to run out `seconds` from now (negative: already out).
    func setLease(_ digest: Digest, secondsFromNow seconds: Double) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE blobs SET protected_until = strftime('%Y-%m-%d %H:%M:%f', 'now', ?) WHERE digest = ?",
                           arguments: [String(format: "%+.3f seconds", seconds), digest.description])
        }
    }

    /// Seconds until the blob's lease runs out, as the database sees it.
    func leaseRemaining(_ digest: Digest) async throws -> Double? {
        try await pool.read { db in
            try Double.fetchOne(db, sql: """
                SELECT (julianday(protected_until) - julianday('now')) * 86400.0 FROM blobs WHERE digest = ?
                """, arguments: [digest.description])
        }
    }

    // MARK: Looking

    func blobRowExists(_ digest: Digest) async throws -> Bool {
        try await scalar("SELECT EXISTS (SELECT 1 FROM blobs WHERE digest = ?)", [digest.description]) ?? false
    }

    func blobFileExists(_ digest: Digest) -> Bool {
        FileManager.default.fileExists(atPath: paths.blob(digest))
    }

    func readBlobFile(_ digest: Digest) throws -> [UInt8]? {
        FileManager.default.contents(atPath: paths.blob(digest)).map(Array.init)
    }

    func manifestExists(_ manifest: PushedManifest) async throws -> Bool {
        try await scalar("""
            SELECT EXISTS (SELECT 1 FROM manifests m JOIN repositories r ON r.id = m.repository_id
                           WHERE r.name = ? AND m.digest = ?)
            """, [manifest.repository, manifest.digest.description]) ?? false
    }

    /// Whether `repository` still serves the blob (through the facade, as a GET would).
    func servesBlob(_ repository: String, _ digest: Digest) async throws -> Bool {
        do {
            _ = try await registry.blob(try repo(repository), digest)
            return true
        } catch RegistryError.blobUnknown {
            return false
        }
    }

    /// A blob the operator would call present: row, file, and served by `repository`.
    func expectBlobKept(_ repository: String, _ digest: Digest, _ why: Comment, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(try await blobRowExists(digest), "row of \(digest): \(why)", sourceLocation: sourceLocation)
        #expect(blobFileExists(digest), "file of \(digest): \(why)", sourceLocation: sourceLocation)
        #expect(try await servesBlob(repository, digest), "GET \(digest) in \(repository): \(why)", sourceLocation: sourceLocation)
    }

    /// A blob reclaimed: file gone from blobs/ (and not parked in trash/), row gone, GET unknown.
    func expectBlobGone(_ repository: String, _ digest: Digest, _ why: Comment, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(try await !blobRowExists(digest), "row of \(digest): \(why)", sourceLocation: sourceLocation)
        #expect(!blobFileExists(digest), "file of \(digest): \(why)", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: registry.store.trashPath(digest)), "trash file of \(digest)", sourceLocation: sourceLocation)
        #expect(try await !servesBlob(repository, digest), "GET \(digest) in \(repository): \(why)", sourceLocation: sourceLocation)
    }

    func expectManifest(_ manifest: PushedManifest, kept: Bool, _ why: Comment, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(try await manifestExists(manifest) == kept, "manifest \(manifest.repository)@\(manifest.digest): \(why)",
                sourceLocation: sourceLocation)
        do {
            _ = try await registry.manifest(try repo(manifest.repository), .digest(manifest.digest))
            #expect(kept, "GET manifest \(manifest.digest) answered although it was collected", sourceLocation: sourceLocation)
        } catch RegistryError.manifestUnknown {
            #expect(!kept, "GET manifest \(manifest.digest) is unknown: \(why)", sourceLocation: sourceLocation)
        }
    }

    func scalar<T: DatabaseValueConvertible & Sendable>(_ sql: String, _ arguments: StatementArguments = []) async throws -> T? {
        try await pool.read { db in try T.fetchOne(db, sql: sql, arguments: arguments) }
    }

    func count(_ sql: String, _ arguments: StatementArguments = []) async throws -> Int {
        try await scalar(sql, arguments) ?? -1
    }

    func repo(_ name: String) throws -> RepositoryName {
        try #require(RepositoryName(name))
    }

    // MARK: Bytes

    static func configBytes(nonce: String = UUID().uuidString) -> [UInt8] {
        json(["architecture": "amd64", "os": "linux", "config": ["Labels": ["nonce": nonce]]])
    }

    static func json(_ object: [String: Any]) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}

/// A blob a manifest references, with the size it was pushed with.
struct Blob: Sendable, Hashable {
    var digest: Digest
    var size: Int
}

/// What a push stored: enough to pull it, reference it from an index or a subject,
/// and to know which blobs it holds.
struct PushedManifest: Sendable {
    var repository: String
    var digest: Digest
    var mediaType: String
    var payload: [UInt8]
    var blobs: [Blob]

    var layers: [Digest] { blobs.dropFirst().map(\.digest) }
    var config: Digest { blobs[0].digest }
}

extension MediaType {
    static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
}

func descriptor(_ mediaType: String, _ digest: Digest, _ size: Int) -> [String: Any] {
    ["mediaType": mediaType, "digest": digest.description, "size": size]
}

