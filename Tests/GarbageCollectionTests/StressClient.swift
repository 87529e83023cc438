import Foundation
import Hummingbird
import HummingbirdTesting
import OCI
import Synchronization
import TestSupport

// A registry client for the race test: it pushes images whose layers other clients
// share, HEADs and mounts existing layers, moves tags, deletes tags and manifests and
// pushes multi-platform indexes, over its own connection, while registry-gc runs in
// another process. It records every answer; whatever a client of a correct registry
// would never see is a finding.

/// What all clients saw, shared.
final class StressLedger: Sendable {
    struct Counts: Sendable {
        var manifestPuts = 0
        var indexPuts = 0
        var blobUploads = 0
        var blobHeadsFound = 0
        var blobHeadsMissing = 0
        var mounts = 0
        var mountFallbacks = 0
        var tagDeletes = 0
        var manifestDeletes = 0
        var manifestDeletesAlreadyGone = 0
        var pulls = 0
        var leaseExpiredFailures = 0
        var rebases = 0
    }

    private let state = Mutex<(counts: Counts, findings: [String])>((Counts(), []))

    func count(_ update: (inout Counts) -> Void) {
        state.withLock { update(&$0.counts) }
    }

    func finding(_ text: String) {
        state.withLock { $0.findings.append(text) }
    }

    var counts: Counts { state.withLock { $0.counts } }
    var findings: [String] { state.withLock { $0.findings } }
}

/// Bytes every client draws layers from: shared layers are the point of the test.
struct LayerPool: Sendable {
    let layers: [[UInt8]]

    init(count: Int) {
        layers = (0..<count).map { _ in randomBytes(Int.random(in: 1000...6000)) }
    }
}

struct StressClient: Sendable {
    let id: Int
    let http: TestClient
    let pool: LayerPool
    let clients: Int
    let ledger: StressLedger
    /// The server's blob lease and the collector's manifest delay (the same here).
    let delay: Duration

    var repository: String { "stress/client-\(id)" }

    /// A tag and the manifest it should name; children of an index are listed too.
    struct Tagged: Sendable {
        var digest: String
        var payload: [UInt8]
        var mediaType: String
        var blobs: [Blob]
        var children: [Tagged]
    }

    /// This client's view of its repository: nobody else writes to it (only GC).
    /// Used by one task only.
    final class Model: @unchecked Sendable {
        var tags: [String: Tagged] = [:]
        /// Image manifests pushed by tag, by digest (deletable by digest: no index lists them).
        var images: [String: Tagged] = [:]
        /// The bytes of every blob this client pushed or reused, to push them again.
        var bytes: [Digest: [UInt8]] = [:]

        func remember(_ image: Tagged, tag: String) {
            tags[tag] = image
            images[image.digest] = image
        }
    }

    func run(iterations: Int) async throws -> [String: Tagged] {
        let model = Model()
        for iteration in 0..<iterations {
            switch Int.random(in: 0..<100) {
            case 0..<45: try await pushImage(tag: "t\(Int.random(in: 0..<4))", model: model)
            case 45..<60: try await pushIndex(tag: "multi\(Int.random(in: 0..<2))", model: model)
            case 60..<75: try await rebase(tag: "t\(Int.random(in: 0..<4))", model: model)
            case 75..<87: try await deleteTag(model: model)
            default: try await deleteManifest(model: model)
            }
            if iteration % 4 == 3, let entry = model.tags.randomElement() {
                try await pull(tag: entry.key, expected: entry.value, context: "mid-run pull")
            }
        }
        return model.tags
    }

    // MARK: Pushing

    /// When a blob or manifest was last granted to this client, and until when the
    /// registry promised to keep it (request start + the guarantee).
    typealias Grants = [String: ContinuousClock.Instant]

    private func pushImage(tag: String, model: Model) async throws {
        var grants = Grants()
        let image = try await prepareImage(reusable: true, grants: &grants, model: model)
        guard let image else { return }
        if try await putManifest(image, reference: tag, grants: grants) {
            model.remember(image, tag: tag)
            ledger.count { $0.manifestPuts += 1 }
        }
    }

    /// Uploads or reuses the blobs of an image and returns its manifest (not yet put).
    /// `reusable`: the config may be one of a few fixed ones, so a push repeats an
    /// earlier manifest byte for byte.
    private func prepareImage(reusable: Bool, grants: inout Grants, model: Model) async throws -> Tagged? {
        let config: [UInt8], layers: [[UInt8]]
        if reusable, Bool.random() {
            // One of a few fixed images, the same in every client: pushing it again
            // repeats an earlier manifest byte for byte.
            let recipe = Int.random(in: 0..<3)
            config = Array("{\"architecture\":\"amd64\",\"os\":\"linux\",\"recipe\":\(recipe)}".utf8)
            layers = [pool.layers[recipe], pool.layers[(recipe + 3) % pool.layers.count]]
        } else {
            config = Array("{\"architecture\":\"amd64\",\"os\":\"linux\",\"nonce\":\"\(UUID().uuidString)\"}".utf8)
            layers = pool.layers.shuffled().prefix(Int.random(in: 1...3)) + [randomBytes(Int.random(in: 200...3000))]
        }
        var blobs: [Blob] = []
        for bytes in [config] + layers {
            guard try await ensureBlob(bytes, grants: &grants, model: model) else { return nil }
            blobs.append(Blob(digest: Digest.of(bytes), size: bytes.count))
        }
        let payload = GCStore.json([
            "schemaVersion": 2, "mediaType": MediaType.ociManifest,
            "config": descriptor("application/vnd.oci.image.config.v1+json", blobs[0].digest, blobs[0].size),
            "layers": blobs.dropFirst().map { descriptor(MediaType.ociLayerGzip, $0.digest, $0.size) },
        ])
        return Tagged(digest: Digest.of(payload).description, payload: payload, mediaType: MediaType.ociManifest, blobs: blobs, children: [])
    }

    /// Makes sure the repository has the blob, as docker does: HEAD; if missing, mount
    /// from another client's repository or upload. Returns false after a finding.
    private func ensureBlob(_ bytes: [UInt8], grants: inout Grants, model: Model) async throws -> Bool {
        model.bytes[Digest.of(bytes)] = bytes
        let digest = Digest.of(bytes).description
        let start = ContinuousClock.now
        let head = try await send(.head, "/v2/\(repository)/blobs/\(digest)")
        switch head.status {
        case .ok:
            ledger.count { $0.blobHeadsFound += 1 }
            grants[digest] = start + delay / 2
            return true
        case .notFound:
            ledger.count { $0.blobHeadsMissing += 1 }
        default:
            ledger.finding("client \(id): HEAD blob \(digest): \(describe(head))")
            return false
        }
        if Bool.random() {
            let source = "stress/client-\((id + Int.random(in: 1..<clients)) % clients)"
            let mountStart = ContinuousClock.now
            let mount = try await send(.post, "/v2/\(repository)/blobs/uploads/?mount=\(digest)&from=\(source)")
            switch mount.status {
            case .created:
                ledger.count { $0.mounts += 1 }
                grants[digest] = mountStart + delay
                return true
            case .accepted:
                ledger.count { $0.mountFallbacks += 1 }
                guard let location = mount.headers[.location] else {
                    ledger.finding("client \(id): mount fallback without Location")
                    return false
                }
                let uploadStart = ContinuousClock.now
                let put = try await send(.put, "\(location)?digest=\(digest)", headers: [.contentType: "application/octet-stream"], body: bytes)
                guard put.status == .created else {
                    ledger.finding("client \(id): PUT upload \(digest) after mount fallback: \(describe(put))")
                    return false
                }
                ledger.count { $0.blobUploads += 1 }
                grants[digest] = uploadStart + delay
                return true
            default:
                ledger.finding("client \(id): mount \(digest) from \(source): \(describe(mount))")
                return false
            }
        }
        let uploadStart = ContinuousClock.now
        let upload = try await send(.post, "/v2/\(repository)/blobs/uploads/?digest=\(digest)",
                                    headers: [.contentType: "application/octet-stream"], body: bytes)
        guard upload.status == .created else {
            ledger.finding("client \(id): upload \(digest): \(describe(upload))")
            return false
        }
        ledger.count { $0.blobUploads += 1 }
        grants[digest] = uploadStart + delay
        return true
    }

    /// PUTs a manifest whose every reference was granted just before. A failure is a
    /// finding unless a grant had visibly run out before the registry answered.
    private func putManifest(_ manifest: Tagged, reference: String, grants: Grants) async throws -> Bool {
        let response = try await send(.put, "/v2/\(repository)/manifests/\(reference)",
                                      headers: [.contentType: manifest.mediaType], body: manifest.payload)
        let answered = ContinuousClock.now
        if response.status == .created { return true }
        let references = manifest.blobs.map(\.digest.description) + manifest.children.map(\.digest)
        let expired = Set(references.filter { grants[$0].map { $0 < answered } ?? true })
        let missing = Set(response.text.matches(of: /sha256:[0-9a-f]{64}/).map { String($0.output) })
        if response.status == .badRequest, response.text.contains("MANIFEST_BLOB_UNKNOWN"), !missing.isEmpty, missing.isSubset(of: expired) {
            ledger.count { $0.leaseExpiredFailures += 1 }
        } else {
            let late = references.map { grants[$0].map { "\($0 - answered)" } ?? "none" }
            ledger.finding("client \(id): PUT manifest \(reference) (\(manifest.digest)): \(describe(response)); "
                           + "every reference was granted and still protected (time left per reference: \(late))")
        }
        return false
    }

    /// A new image on the layers of an old one while the old one is deleted: HEAD the
    /// old layers (200), DELETE the old manifest (often their last reference), take a
    /// while (a slow build; GC runs meanwhile), then PUT the new manifest. The HEADs
    /// promised the layers; the PUT must succeed.
    private func rebase(tag: String, model: Model) async throws {
        guard let old = model.images.values.randomElement() else { return try await pushImage(tag: tag, model: model) }
        var grants = Grants()
        for blob in old.blobs.dropFirst() {
            guard let bytes = model.bytes[blob.digest], try await ensureBlob(bytes, grants: &grants, model: model) else { return }
        }
        try await deleteManifest(old.digest, model: model)
        try await Task.sleep(for: .milliseconds(Int.random(in: 100...400)))
        let config = Array("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rebased\":\"\(UUID().uuidString)\"}".utf8)
        guard try await ensureBlob(config, grants: &grants, model: model) else { return }
        var blobs = [Blob(digest: Digest.of(config), size: config.count)] + old.blobs.dropFirst()
        blobs = blobs.reduce(into: []) { unique, blob in if !unique.contains(blob) { unique.append(blob) } }
        let payload = GCStore.json([
            "schemaVersion": 2, "mediaType": MediaType.ociManifest,
            "config": descriptor("application/vnd.oci.image.config.v1+json", blobs[0].digest, blobs[0].size),
            "layers": blobs.dropFirst().map { descriptor(MediaType.ociLayerGzip, $0.digest, $0.size) },
        ])
        let rebased = Tagged(digest: Digest.of(payload).description, payload: payload, mediaType: MediaType.ociManifest,
                             blobs: blobs, children: [])
        if try await putManifest(rebased, reference: tag, grants: grants) {
            model.remember(rebased, tag: tag)
            ledger.count { $0.rebases += 1 }
        }
    }

    private func pushIndex(tag: String, model: Model) async throws {
        var grants = Grants()
        var children: [Tagged] = []
        for _ in 0..<2 {
            guard let child = try await prepareImage(reusable: false, grants: &grants, model: model) else { return }
            let start = ContinuousClock.now
            guard try await putManifest(child, reference: child.digest, grants: grants) else { return }
            grants[child.digest] = start + delay
            children.append(child)
        }
        let payload = GCStore.json([
            "schemaVersion": 2, "mediaType": MediaType.ociIndex,
            "manifests": children.enumerated().map { index, child -> [String: Any] in
                var entry: [String: Any] = ["mediaType": child.mediaType, "digest": child.digest, "size": child.payload.count]
                entry["platform"] = ["architecture": index == 0 ? "amd64" : "arm64", "os": "linux"]
                return entry
            },
        ])
        let index = Tagged(digest: Digest.of(payload).description, payload: payload, mediaType: MediaType.ociIndex, blobs: [], children: children)
        if try await putManifest(index, reference: tag, grants: grants) {
            model.tags[tag] = index
            ledger.count { $0.indexPuts += 1 }
        }
    }

    // MARK: Deleting

    private func deleteTag(model: Model) async throws {
        guard let tag = model.tags.keys.randomElement() else { return }
        let response = try await send(.delete, "/v2/\(repository)/manifests/\(tag)")
        guard response.status == .accepted else {
            ledger.finding("client \(id): DELETE tag \(tag), which only this client touches: \(describe(response))")
            return
        }
        model.tags[tag] = nil
        ledger.count { $0.tagDeletes += 1 }
    }

    private func deleteManifest(model: Model) async throws {
        guard let digest = model.images.keys.randomElement() else { return }
        try await deleteManifest(digest, model: model)
    }

    /// DELETE by digest: 202, or 404 only when no tag named it (GC may have taken it).
    private func deleteManifest(_ digest: String, model: Model) async throws {
        model.images[digest] = nil
        let tagged = model.tags.contains { $0.value.digest == digest }
        let response = try await send(.delete, "/v2/\(repository)/manifests/\(digest)")
        switch response.status {
        case .accepted:
            model.tags = model.tags.filter { $0.value.digest != digest }
            ledger.count { $0.manifestDeletes += 1 }
        case .notFound where !tagged:
            ledger.count { $0.manifestDeletesAlreadyGone += 1 }
        default:
            ledger.finding("client \(id): DELETE manifest \(digest) (tagged: \(tagged)): \(describe(response))")
        }
    }

    // MARK: Pulling

    /// Pulls a tag completely: the manifest by tag (exact bytes), every child and
    /// every blob (exact bytes, checked against the digest).
    func pull(tag: String, expected: Tagged, context: String) async throws {
        ledger.count { $0.pulls += 1 }
        let manifest = try await send(.get, "/v2/\(repository)/manifests/\(tag)", headers: [.accept: expected.mediaType])
        guard manifest.status == .ok, manifest.bytes == expected.payload else {
            ledger.finding("client \(id) \(context): GET manifest \(tag) (\(expected.digest)): \(describe(manifest))")
            return
        }
        try await pullContent(expected, context: "\(context) \(tag)")
    }

    private func pullContent(_ expected: Tagged, context: String) async throws {
        for child in expected.children {
            let response = try await send(.get, "/v2/\(repository)/manifests/\(child.digest)", headers: [.accept: child.mediaType])
            guard response.status == .ok, response.bytes == child.payload else {
                ledger.finding("client \(id) \(context): GET child manifest \(child.digest): \(describe(response))")
                continue
            }
            try await pullContent(child, context: context)
        }
        for blob in expected.blobs {
            let response = try await send(.get, "/v2/\(repository)/blobs/\(blob.digest)")
            guard response.status == .ok, Digest.of(response.bytes) == blob.digest, response.bytes.count == blob.size else {
                ledger.finding("client \(id) \(context): GET blob \(blob.digest) of \(expected.digest): \(describe(response))")
                continue
            }
        }
    }

    // MARK: HTTP

    func send(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: [UInt8]? = nil) async throws -> TestClient.Response {
        var headers = headers
        headers[.connection] = "keep-alive"
        let response = try await http.execute(TestClient.Request(uri, method: method, authority: "localhost", headers: headers,
                                                                 body: body.map { ByteBuffer(bytes: $0) }))
        if response.status.code >= 500 {
            ledger.finding("client \(id): \(method) \(uri): \(describe(response))")
        }
        return response
    }

    private func describe(_ response: TestClient.Response) -> String {
        "\(response.status.code) \(response.text.prefix(300))"
    }
}

extension TestClient.Response {
    var bytes: [UInt8] { body.map { Array($0.readableBytesView) } ?? [] }
    var text: String { String(decoding: bytes, as: UTF8.self) }
}
