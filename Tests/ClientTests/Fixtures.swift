import Crypto
import Foundation
import GRDB
import TestSupport

// MARK: Bytes and digests

func sha256(_ bytes: [UInt8]) -> String {
    "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

func json(_ object: Any) throws -> [UInt8] {
    [UInt8](try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
}

func jsonObject(_ bytes: [UInt8]) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
        throw ClientTestError("not a JSON object: \(String(decoding: bytes, as: UTF8.self))")
    }
    return object
}

// MARK: OCI image layouts on disk

enum MediaTypes {
    static let manifest = "application/vnd.oci.image.manifest.v1+json"
    static let index = "application/vnd.oci.image.index.v1+json"
    static let config = "application/vnd.oci.image.config.v1+json"
    static let layer = "application/vnd.oci.image.layer.v1.tar"
}

struct Blob {
    let mediaType: String
    let bytes: [UInt8]
    var digest: String { sha256(bytes) }
    var descriptor: [String: Any] { ["mediaType": mediaType, "digest": digest, "size": bytes.count] }
}

/// An image: config + layers, and its manifest's exact bytes.
struct TestImage {
    let config: Blob
    let layers: [Blob]
    let manifest: Blob

    /// `layerSizes` random layers; the config lists their diff_ids (uncompressed tars).
    init(layerSizes: [Int], architecture: String = "amd64", sharedLayers: [Blob] = []) throws {
        let layers = sharedLayers + layerSizes.map { Blob(mediaType: MediaTypes.layer, bytes: randomBytes($0)) }
        let config = Blob(mediaType: MediaTypes.config, bytes: try json([
            "architecture": architecture, "os": "linux",
            "config": ["Cmd": ["/hello"]],
            "rootfs": ["type": "layers", "diff_ids": layers.map(\.digest)],
        ]))
        let manifest = Blob(mediaType: MediaTypes.manifest, bytes: try json([
            "schemaVersion": 2, "mediaType": MediaTypes.manifest,
            "config": config.descriptor, "layers": layers.map(\.descriptor),
        ]))
        self.config = config
        self.layers = layers
        self.manifest = manifest
    }

    var blobs: [Blob] { [config] + layers }
}

/// Writes an OCI image layout (oci-layout, index.json, blobs/sha256/…) by hand.
struct OCILayoutWriter {
    let path: String

    init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: "\(path)/blobs/sha256", withIntermediateDirectories: true)
        try write(Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: "\(path)/oci-layout")
    }

    func add(_ blob: Blob) throws {
        try write(blob.bytes, to: "\(path)/blobs/sha256/\(blob.digest.dropFirst("sha256:".count))")
    }

    /// index.json naming each top-level manifest (image or index) by a ref name.
    func writeIndex(_ entries: [(ref: String, blob: Blob)]) throws {
        try write(try json([
            "schemaVersion": 2,
            "manifests": entries.map { entry -> [String: Any] in
                var descriptor = entry.blob.descriptor
                descriptor["annotations"] = ["org.opencontainers.image.ref.name": entry.ref]
                return descriptor
            },
        ]), to: "\(path)/index.json")
    }

    private func write(_ bytes: [UInt8], to file: String) throws {
        guard FileManager.default.createFile(atPath: file, contents: Data(bytes)) else {
            throw ClientTestError("cannot write \(file)")
        }
    }
}

/// Reads back an OCI layout some tool wrote.
struct OCILayoutReader {
    let path: String

    /// The descriptor index.json gives for `ref`.
    func descriptor(ref: String) throws -> (digest: String, mediaType: String?) {
        let index = try jsonObject(try read("\(path)/index.json"))
        let manifests = index["manifests"] as? [[String: Any]] ?? []
        guard let entry = manifests.first(where: {
            ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == ref
        }), let digest = entry["digest"] as? String else {
            throw ClientTestError("index.json of \(path) has no entry for ref \(ref): \(String(decoding: try read("\(path)/index.json"), as: UTF8.self))")
        }
        return (digest, entry["mediaType"] as? String)
    }

    func blob(_ digest: String) throws -> [UInt8] {
        try read("\(path)/blobs/sha256/\(digest.dropFirst("sha256:".count))")
    }

    /// Every digest under blobs/sha256, each verified against its content.
    func verifiedDigests() throws -> Set<String> {
        let names = try FileManager.default.contentsOfDirectory(atPath: "\(path)/blobs/sha256")
        var digests: Set<String> = []
        for name in names {
            let bytes = try read("\(path)/blobs/sha256/\(name)")
            guard sha256(bytes) == "sha256:\(name)" else {
                throw ClientTestError("\(path)/blobs/sha256/\(name) does not hash to its name (got \(sha256(bytes)))")
            }
            digests.insert("sha256:\(name)")
        }
        return digests
    }

    private func read(_ file: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file) else { throw ClientTestError("cannot read \(file)") }
        return [UInt8](data)
    }
}

// MARK: The registry's HTTP API, driven directly

struct RegistryClient {
    let port: Int

    func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws -> RawHTTPResponse {
        try HTTP.request(method, port: port, path: path, headers: headers, body: body)
    }

    /// Monolithic upload (`POST ?digest=`); returns the response (201 on success).
    func uploadBlob(_ repository: String, _ bytes: [UInt8]) throws -> RawHTTPResponse {
        try request("POST", "/v2/\(repository)/blobs/uploads/?digest=\(sha256(bytes))",
                    headers: [("Content-Type", "application/octet-stream")], body: bytes)
    }

    func putManifest(_ repository: String, _ reference: String, _ manifest: Blob) throws -> RawHTTPResponse {
        try request("PUT", "/v2/\(repository)/manifests/\(reference)", headers: [("Content-Type", manifest.mediaType)], body: manifest.bytes)
    }

    /// Pushes blobs and manifest, failing on anything but 201.
    func push(_ image: TestImage, to repository: String, tag: String) throws {
        for blob in image.blobs {
            let response = try uploadBlob(repository, blob.bytes)
            guard response.status == 201 else { throw ClientTestError("blob upload \(blob.digest) failed:\n\(response)") }
        }
        let response = try putManifest(repository, tag, image.manifest)
        guard response.status == 201 else { throw ClientTestError("manifest PUT failed:\n\(response)") }
    }
}

// MARK: The server's database and blob directory, inspected directly

struct StoreInspector {
    let dataDirectory: String

    func database() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        return try DatabaseQueue(path: "\(dataDirectory)/registry.db", configuration: configuration)
    }

    /// `PRAGMA integrity_check` rows ("ok" when healthy) and `foreign_key_check` violations.
    func integrity() throws -> (integrity: [String], foreignKeyViolations: Int) {
        let queue = try database()
        return try queue.read { db in
            (try String.fetchAll(db, sql: "PRAGMA integrity_check"), try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count)
        }
    }

    /// Digests of every file under blobs/<alg>/<hh>/<hex>.
    func blobFiles() throws -> Set<String> {
        let root = "\(dataDirectory)/blobs"
        var digests: Set<String> = []
        for algorithm in try FileManager.default.contentsOfDirectory(atPath: root) {
            for prefix in try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(algorithm)") {
                for name in try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(algorithm)/\(prefix)") {
                    digests.insert("\(algorithm):\(name)")
                }
            }
        }
        return digests
    }

    func blobRows() throws -> Set<String> {
        Set(try database().read { db in try String.fetchAll(db, sql: "SELECT digest FROM blobs") })
    }
}
