import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import OCI
import RegistryCLI
import RegistryCore
import RegistryHTTP
import Testing
import TestSupport

// Shared setup for the live-server tests: a fresh registry in a temporary directory,
// served on a real loopback socket, and a few helpers that push blobs and images so
// that each test reads as the client conversation it checks.

/// Runs `body` against a registry of its own, served by the real router on 127.0.0.1.
func withRegistry<T: Sendable>(
    configure: (inout RegistryConfiguration) -> Void = { _ in },
    _ body: @Sendable (RegistryClient) async throws -> T
) async throws -> T {
    try await withLiveRegistry(configure: configure) { _, client in try await body(client) }
}

/// `withRegistry`, with the `Registry` too (to reach its files and database).
func withLiveRegistry<T: Sendable>(
    configure: (inout RegistryConfiguration) -> Void = { _ in },
    _ body: @Sendable (Registry, RegistryClient) async throws -> T
) async throws -> T {
    try await withDataDirectory { directory in
        var cfg = testConfiguration(directory)
        configure(&cfg)
        return try await serveLive(cfg, body)
    }
}

/// The tests' configuration: data in `directory`, without fsync.
func testConfiguration(_ directory: String) -> RegistryConfiguration {
    var cfg = RegistryConfiguration()
    cfg.dataDirectory = directory
    cfg.syncWrites = false
    return cfg
}

/// A registry directory of its own, removed at the end.
func withDataDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-http-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
}

/// Opens a registry with `cfg` and serves it with the real router on 127.0.0.1.
/// `logger` is the server's (by default only errors, to the console).
func serveLive<T: Sendable>(
    _ cfg: RegistryConfiguration,
    logger: Logger = quietLogger(),
    _ body: @Sendable (Registry, RegistryClient) async throws -> T
) async throws -> T {
    let registry = try Registry.open(configuration: cfg, logger: logger, metrics: PrometheusBackend())
    var listen = cfg
    listen.host = "127.0.0.1"
    listen.port = 0
    let app = Application(
        router: RegistryApplication.buildRouter(registry: registry),
        server: try RegistryServer.mainServer(listen).0,
        configuration: RegistryServer.applicationConfiguration(listen, logger: logger),
        logger: logger
    )
    return try await app.test(.live) { client in
        try await body(registry, RegistryClient(client: client))
    }
}

func quietLogger() -> Logger {
    var logger = Logger(label: "stowage-http-tests")
    logger.logLevel = .error
    return logger
}

/// The registry's own headers (the product declares them internal).
enum Header {
    static let apiVersion = HTTPField.Name("Docker-Distribution-API-Version")!
    static let contentDigest = HTTPField.Name("Docker-Content-Digest")!
    static let uploadUUID = HTTPField.Name("Docker-Upload-UUID")!
    static let ociSubject = HTTPField.Name("OCI-Subject")!
    static let filtersApplied = HTTPField.Name("OCI-Filters-Applied")!
    static let link = HTTPField.Name("Link")!
}

enum Media {
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let ociConfig = "application/vnd.oci.image.config.v1+json"
    static let ociLayer = "application/vnd.oci.image.layer.v1.tar+gzip"
    static let ociEmpty = "application/vnd.oci.empty.v1+json"
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    static let dockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    static let dockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
}

/// Eight bytes per draw of the system generator (one draw per byte is a system call per
/// byte: seconds of a cooperative thread for a few MiB in a debug build).

/// `sha256:<hex>` computed with swift-crypto, independently of the product's `Digest`.
func sha256(_ bytes: [UInt8]) -> String {
    "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

func sha512(_ bytes: [UInt8]) -> String {
    "sha512:" + SHA512.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

/// A digest nobody pushed.
func unknownDigest() -> String { sha256(randomBytes(32)) }

// MARK: Manifests as bytes

/// A descriptor as it appears inside a manifest.
struct Desc: Sendable {
    var mediaType: String
    var digest: String
    var size: Int
    var artifactType: String?
    var annotations: [String: String]?
    var platform: [String: String]?

    var json: [String: Any] {
        var object: [String: Any] = ["mediaType": mediaType, "digest": digest, "size": size]
        if let artifactType { object["artifactType"] = artifactType }
        if let annotations { object["annotations"] = annotations }
        if let platform { object["platform"] = platform }
        return object
    }
}

/// Pretty-printed JSON: the whitespace makes any re-serialisation by the server visible.
func jsonBytes(_ object: [String: Any]) -> [UInt8] {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    return Array(data)
}

func imageManifest(
    mediaType: String? = Media.ociManifest, config: Desc, layers: [Desc], subject: Desc? = nil,
    artifactType: String? = nil, annotations: [String: String]? = nil
) -> [UInt8] {
    var object: [String: Any] = ["schemaVersion": 2, "config": config.json, "layers": layers.map(\.json)]
    if let mediaType { object["mediaType"] = mediaType }
    if let subject { object["subject"] = subject.json }
    if let artifactType { object["artifactType"] = artifactType }
    if let annotations { object["annotations"] = annotations }
    return jsonBytes(object)
}

func indexManifest(mediaType: String = Media.ociIndex, manifests: [Desc], subject: Desc? = nil) -> [UInt8] {
    var object: [String: Any] = ["schemaVersion": 2, "mediaType": mediaType, "manifests": manifests.map(\.json)]
    if let subject { object["subject"] = subject.json }
    return jsonBytes(object)
}

/// What `pushImage` pushed.
struct PushedImage: Sendable {
    var repository: String
    var manifest: [UInt8]
    var mediaType: String
    var digest: String
    var config: Desc
    var layers: [Desc]
    var layerBytes: [[UInt8]]

    /// This manifest as a descriptor (for an index or a subject).
    var descriptor: Desc { Desc(mediaType: mediaType, digest: digest, size: manifest.count) }
}

// MARK: Client

struct RegistryClient: Sendable {
    let client: any TestClientProtocol

    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: [UInt8]? = nil
    ) async throws -> TestResponse {
        try await client.executeRequest(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await send(.get, uri, headers: headers)
    }

    func head(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await send(.head, uri, headers: headers)
    }

    /// Monolithic upload (`POST ?digest=`); fails the test unless the registry answers 201.
    @discardableResult
    func pushBlob(_ repository: String, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let digest = sha256(bytes)
        let response = try await send(.post, "/v2/\(repository)/blobs/uploads/?digest=\(digest)",
                                      headers: [.contentType: "application/octet-stream"], body: bytes)
        #expect(response.status == .created, "pushing a blob to \(repository): \(response.text)", sourceLocation: sourceLocation)
        return digest
    }

    /// `PUT /v2/<repository>/manifests/<reference>` with the manifest's media type as Content-Type.
    @discardableResult
    func putManifest(_ repository: String, _ reference: String, _ bytes: [UInt8], mediaType: String = Media.ociManifest) async throws -> TestResponse {
        try await send(.put, "/v2/\(repository)/manifests/\(reference)", headers: [.contentType: mediaType], body: bytes)
    }

    /// Pushes a config, `layers` random layers and the manifest (by `tag`, or by digest
    /// when nil); fails the test unless every step succeeds.
    @discardableResult
    func pushImage(
        _ repository: String, tag: String? = "latest", layers layerCount: Int = 1, docker: Bool = false,
        subject: Desc? = nil, artifactType: String? = nil, annotations: [String: String]? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> PushedImage {
        let configBytes = jsonBytes(["architecture": "amd64", "os": "linux", "nonce": UUID().uuidString])
        let configDigest = try await pushBlob(repository, configBytes, sourceLocation: sourceLocation)
        var layers: [Desc] = []
        var layerBytes: [[UInt8]] = []
        for _ in 0..<layerCount {
            let bytes = randomBytes(Int.random(in: 100...2000))
            let digest = try await pushBlob(repository, bytes, sourceLocation: sourceLocation)
            layers.append(Desc(mediaType: docker ? Media.dockerLayer : Media.ociLayer, digest: digest, size: bytes.count))
            layerBytes.append(bytes)
        }
        let config = Desc(mediaType: docker ? Media.dockerConfig : Media.ociConfig, digest: configDigest, size: configBytes.count)
        let mediaType = docker ? Media.dockerManifest : Media.ociManifest
        let manifest = imageManifest(mediaType: mediaType, config: config, layers: layers, subject: subject,
                                     artifactType: artifactType, annotations: annotations)
        let digest = sha256(manifest)
        let response = try await putManifest(repository, tag ?? digest, manifest, mediaType: mediaType)
        #expect(response.status == .created, "pushing a manifest to \(repository): \(response.text)", sourceLocation: sourceLocation)
        return PushedImage(repository: repository, manifest: manifest, mediaType: mediaType, digest: digest,
                           config: config, layers: layers, layerBytes: layerBytes)
    }

    /// Starts an upload session; returns its Location path.
    func startUpload(_ repository: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let response = try await send(.post, "/v2/\(repository)/blobs/uploads/")
        #expect(response.status == .accepted, sourceLocation: sourceLocation)
        return try #require(response.headers[.location], sourceLocation: sourceLocation)
    }
}

// MARK: Responses

/// `{"errors":[{"code","message","detail"}]}`
struct ErrorBody: Decodable {
    struct Entry: Decodable {
        var code: String
        var message: String
    }
    var errors: [Entry]
}

extension TestResponse {
    var bytes: [UInt8] { Array(body.readableBytesView) }
    var text: String { String(decoding: bytes, as: UTF8.self) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }

    /// The OCI error codes in the body, or nil when the body is not the OCI error format.
    var errorCodes: [String]? {
        (try? decode(ErrorBody.self)).map { $0.errors.map(\.code) }
    }
}

/// Checks a failure as a client sees it: the status, the OCI error body with `code`
/// (and a message), JSON content type, and the API version header.
func expectError(
    _ response: TestResponse, _ status: HTTPResponse.Status, _ code: String?,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(response.headers[Header.apiVersion] == "registry/2.0", sourceLocation: sourceLocation)
    guard let code else { return }
    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    guard let body = try? response.decode(ErrorBody.self) else {
        Issue.record("error body is not {\"errors\":[...]}: \(response.text)", sourceLocation: sourceLocation)
        return
    }
    #expect(body.errors.first?.code == code, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(body.errors.allSatisfy { !$0.message.isEmpty }, sourceLocation: sourceLocation)
}

/// For HEAD: the status, and no body.
func expectHeadError(_ response: TestResponse, _ status: HTTPResponse.Status, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == status, sourceLocation: sourceLocation)
    #expect(response.body.readableBytes == 0, sourceLocation: sourceLocation)
}
