import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import Logging
import RegistryCore
import RegistryHTTP
import Testing
import TestSupport

// Shared setup for the access-control tests (Auth…Tests.swift): a registry with an
// htpasswd file of bcrypt users, served live, with the Registry at hand for audit queries.

/// Users of the test htpasswd files, and their passwords.
enum TestUsers {
    static let passwords = ["admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret", "reader": "reader-secret"]

    /// `htpasswd -B` lines, hashed at cost 4 (the minimum: fast tests); `$2y$` as Apache writes it.
    static func htpasswd(_ users: [String: String] = passwords) -> String {
        users.sorted { $0.key < $1.key }.map { user, password in
            let hash = bcrypt(password)
            return "\(user):$2y$" + hash.dropFirst(4)
        }.joined(separator: "\n") + "\n"
    }
}

struct AuthRegistry: Sendable {
    let client: RegistryClient
    let registry: Registry
    let directory: String

    /// Rows of an audit query, read-only.
    func query(_ sql: String) throws -> [[String?]] {
        try QueryResult.run(sql, databasePath: StoragePaths(root: registry.configuration.dataDirectory).database).rows
    }
}

/// A registry in a fresh directory with `htpasswd` written beside it; `configure`
/// sees the file's path in `auth.htpasswdFile` and sets the mode and rules.
func withAuthRegistry<T: Sendable>(
    htpasswd: String = TestUsers.htpasswd(),
    configure: (inout RegistryConfiguration) -> Void,
    _ body: @Sendable (AuthRegistry) async throws -> T
) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-auth-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try htpasswd.write(toFile: directory + "/htpasswd", atomically: true, encoding: .utf8)
    var cfg = testConfiguration(directory + "/data")
    cfg.auth.htpasswdFile = directory + "/htpasswd"
    configure(&cfg)
    return try await serveLive(cfg) { registry, client in
        try await body(AuthRegistry(client: client, registry: registry, directory: directory))
    }
}

/// A bcrypt hash at the minimum cost (4): fast fixtures.
func bcrypt(_ password: String) -> String {
    Bcrypt.hash(password, cost: 4)
}

func basic(_ user: String, _ password: String? = nil) -> HTTPFields {
    let secret = password ?? TestUsers.passwords[user] ?? ""
    return [.authorization: "Basic " + Data("\(user):\(secret)".utf8).base64EncodedString()]
}

func bearer(_ token: String) -> HTTPFields {
    [.authorization: "Bearer \(token)"]
}

extension HTTPFields {
    static func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
        var merged = lhs
        merged.append(contentsOf: rhs)
        return merged
    }
}

extension RegistryClient {
    /// Pushes a config, one layer and a manifest with these credentials; returns the
    /// status of each step (so a test can check a refusal) and the image.
    @discardableResult
    func push(_ repository: String, tag: String = "latest", headers: HTTPFields) async throws -> (statuses: [HTTPResponse.Status], image: PushedImage) {
        let configBytes = jsonBytes(["architecture": "amd64", "os": "linux", "nonce": UUID().uuidString])
        let layerBytes = randomBytes(500)
        var statuses: [HTTPResponse.Status] = []
        for bytes in [configBytes, layerBytes] {
            let response = try await send(.post, "/v2/\(repository)/blobs/uploads/?digest=\(sha256(bytes))",
                                          headers: headers + [.contentType: "application/octet-stream"], body: bytes)
            statuses.append(response.status)
        }
        let config = Desc(mediaType: Media.ociConfig, digest: sha256(configBytes), size: configBytes.count)
        let layer = Desc(mediaType: Media.ociLayer, digest: sha256(layerBytes), size: layerBytes.count)
        let manifest = imageManifest(config: config, layers: [layer])
        let response = try await send(.put, "/v2/\(repository)/manifests/\(tag)",
                                      headers: headers + [.contentType: Media.ociManifest], body: manifest)
        statuses.append(response.status)
        let image = PushedImage(repository: repository, manifest: manifest, mediaType: Media.ociManifest, digest: sha256(manifest),
                                config: config, layers: [layer], layerBytes: [layerBytes])
        return (statuses, image)
    }
}

/// The parameters of a `WWW-Authenticate` challenge: scheme and `key="value"` pairs.
func challenge(_ response: TestResponse) -> (scheme: String, parameters: [String: String])? {
    guard let header = response.headers[.wwwAuthenticate], let space = header.firstIndex(of: " ") else { return nil }
    var parameters: [String: String] = [:]
    let pattern = #/([a-z_]+)="((?:[^"\\]|\\.)*)"/#
    for match in header[space...].matches(of: pattern) {
        parameters[String(match.1)] = String(match.2)
    }
    return (String(header[..<space]), parameters)
}
