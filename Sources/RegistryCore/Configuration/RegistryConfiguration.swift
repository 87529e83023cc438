import Foundation
import Yams

/// Everything the registry can be told. Every field has an embedded default, so
/// `registry serve` runs with no file at all.
public struct RegistryConfiguration: Sendable, Equatable {
    public var host = "0.0.0.0"
    public var port = 5000
    public var dataDirectory = "./registry-data"
    /// Whether DELETE on manifests, tags and blobs is allowed.
    public var deleteEnabled = true
    /// How long an uploaded, unreferenced blob is protected from garbage collection.
    public var gcDelay: Duration = .seconds(3600)
    /// The largest manifest accepted, in bytes.
    public var maxManifestSize = 4 * 1024 * 1024
    /// fsync blob bytes before they are recorded (turn off only for throwaway stores).
    public var syncWrites = true
    /// How long a request waits for the SQLite write lock before it gets 503.
    public var databaseBusyTimeout: Duration = .seconds(10)
    /// The background garbage collector in `registry serve`.
    public var gcEnabled = true
    public var gcInterval: Duration = .seconds(3600)
    /// Whether GC deletes manifests no tag reaches.
    public var gcDeleteUntagged = false
    /// Upload sessions idle longer than this are removed by GC.
    public var uploadTimeout: Duration = .seconds(24 * 3600)

    public var auth = AuthConfiguration()
    /// Record manifest pulls in audit_events (and last_pulled_at).
    public var recordPulls = true
    /// Delete audit rows older than this; nil keeps them forever.
    public var auditRetention: Duration?

    /// Maintenance mode: every write is refused and GC deletes nothing.
    public var readOnly = false
    public var limits = StorageLimits()

    public var tls = TLSFiles()
    public var metrics = MetricsSettings()
    public var log = LogSettings()
    public var http = HTTPSettings()
    /// How long SIGTERM waits for in-flight requests before they are cut off.
    public var shutdownTimeout: Duration = .seconds(30)

    /// GC options from this configuration.
    public var gcOptions: GCOptions {
        var options = GCOptions(delay: gcDelay)
        options.deleteUntagged = gcDeleteUntagged
        options.uploadTimeout = uploadTimeout
        return options
    }

    public init() {}

    public var listenAddress: String { "\(host):\(port)" }

    /// Parses `HOST:PORT` (or `:PORT`, or `[v6]:PORT`).
    public mutating func setListen(_ address: String) throws(ConfigurationError) {
        (host, port) = try Self.hostAndPort(address)
    }

    /// `HOST:PORT`, `:PORT` (all interfaces) or `[v6]:PORT`, split.
    public static func hostAndPort(_ address: String) throws(ConfigurationError) -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port)
        else { throw ConfigurationError.invalid(key: "listen", expected: "HOST:PORT", got: address) }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// Reads a YAML file; keys not given keep their defaults.
    /// Environment variables are not read (see `load(file:environment:base:)`).
    public static func load(file: String, base: RegistryConfiguration = RegistryConfiguration()) throws -> RegistryConfiguration {
        try load(file: file, environment: [:], base: base)
    }
}

public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    case unreadable(String)
    case malformed(file: String, reason: String)
    case invalid(key: String, expected: String, got: String)
    case unknownKey(String, expected: [String])
    case unknownEnvironmentVariable(String, expected: [String])

    public var description: String {
        switch self {
        case .unreadable(let file): "cannot read configuration file \(file)"
        case .malformed(let file, let reason): "configuration file \(file) is not valid YAML: \(reason)"
        case .invalid(let key, let expected, let got): "configuration key '\(key)': expected \(expected), got '\(got)'"
        case .unknownKey(let key, let expected): "unknown key '\(key)'; expected one of: \(expected.joined(separator: ", "))"
        case .unknownEnvironmentVariable(let name, let expected):
            "unknown environment variable \(name); expected one of: \(expected.joined(separator: ", "))"
        }
    }
}

/// The YAML shape of the configuration file.
struct ConfigurationFile: Codable {
    var listen: String?
    var dataDir: String?
    var storage: Storage?
    var gc: GC?
    var audit: Audit?
    var auth: Auth?
    var maintenance: Maintenance?
    var tls: TLS?
    var metrics: Metrics?
    var log: Log?
    var http: HTTP?
    var shutdownTimeout: String?

    struct Auth: Codable {
        var mode: String?
        var htpasswd: String?
        var realm: String?
        var token: Token?
        var groups: [String: [String]]?
        var access: [Rule]?
        var failedLoginLimit: Int?

        struct Token: Codable {
            var realm: String?
            var service: String?
            var issuer: String?
            var verificationKeys: [String]?
            var signingKey: String?
            var lifetime: String?

            enum CodingKeys: String, CodingKey, CaseIterable {
                case realm, service, issuer, verificationKeys = "verification_keys", signingKey = "signing_key", lifetime
            }
        }

        struct Rule: Codable {
            var subjects: [String]
            var repositories: [String]
            var actions: [String]

            enum CodingKeys: String, CodingKey, CaseIterable {
                case subjects, repositories, actions
            }
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case mode, htpasswd, realm, token, groups, access, failedLoginLimit = "failed_login_limit"
        }

        func apply(to auth: inout AuthConfiguration) throws {
            if let mode {
                guard let value = AuthConfiguration.Mode(rawValue: mode) else {
                    throw ConfigurationError.invalid(key: "auth.mode", expected: "none, htpasswd or token", got: mode)
                }
                auth.mode = value
            }
            if let htpasswd { auth.htpasswdFile = htpasswd }
            if let realm { auth.realm = realm }
            if let groups { auth.groups = groups }
            if let failedLoginLimit { auth.failedLoginLimit = failedLoginLimit }
            if let token {
                if let value = token.realm { auth.tokenRealm = value }
                if let value = token.service { auth.tokenService = value }
                if let value = token.issuer { auth.tokenIssuer = value }
                if let value = token.verificationKeys { auth.tokenVerificationKeys = value }
                if let value = token.signingKey { auth.tokenSigningKey = value }
                if let value = token.lifetime { auth.tokenLifetime = try DurationParser.parse(value, key: "auth.token.lifetime") }
            }
            if let access {
                auth.rules = try access.enumerated().map { index, rule in
                    let actions = try rule.actions.map { name in
                        guard let action = AuthConfiguration.Action(rawValue: name) else {
                            throw ConfigurationError.invalid(key: "auth.access[\(index)].actions",
                                                             expected: "pull, push, delete or catalog", got: name)
                        }
                        return action
                    }
                    return AuthConfiguration.Rule(subjects: rule.subjects, repositories: rule.repositories, actions: Set(actions))
                }
            }
            if auth.mode == .htpasswd, auth.htpasswdFile == nil {
                throw ConfigurationError.invalid(key: "auth.htpasswd", expected: "a path to an htpasswd file", got: "")
            }
        }
    }

    struct Audit: Codable {
        var recordPulls: Bool?
        var retention: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case recordPulls = "record_pulls", retention
        }
    }

    struct Storage: Codable {
        var deleteEnabled: Bool?
        var syncWrites: Bool?
        var maxManifestSize: Int?
        var maxBlobSize: String?
        var maxConcurrentUploads: Int?
        var minFreeSpace: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case deleteEnabled = "delete_enabled", syncWrites = "sync_writes", maxManifestSize = "max_manifest_size"
            case maxBlobSize = "max_blob_size", maxConcurrentUploads = "max_concurrent_uploads", minFreeSpace = "min_free_space"
        }
    }

    struct GC: Codable {
        var enabled: Bool?
        var interval: String?
        var delay: String?
        var deleteUntagged: Bool?
        var uploadTimeout: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case enabled, interval, delay, deleteUntagged = "delete_untagged", uploadTimeout = "upload_timeout"
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, dataDir = "data_dir", storage, gc, audit, auth, maintenance
        case tls, metrics, log, http, shutdownTimeout = "shutdown_timeout"
    }

    func apply(to base: RegistryConfiguration) throws -> RegistryConfiguration {
        var configuration = base
        if let listen { try configuration.setListen(listen) }
        if let dataDir { configuration.dataDirectory = dataDir }
        if let value = storage?.deleteEnabled { configuration.deleteEnabled = value }
        if let value = storage?.syncWrites { configuration.syncWrites = value }
        if let value = storage?.maxManifestSize { configuration.maxManifestSize = value }
        if let value = gc?.enabled { configuration.gcEnabled = value }
        if let value = gc?.deleteUntagged { configuration.gcDeleteUntagged = value }
        if let text = gc?.delay { configuration.gcDelay = try DurationParser.parse(text, key: "gc.delay") }
        if let text = gc?.interval { configuration.gcInterval = try DurationParser.parse(text, key: "gc.interval") }
        if let text = gc?.uploadTimeout { configuration.uploadTimeout = try DurationParser.parse(text, key: "gc.upload_timeout") }
        try auth?.apply(to: &configuration.auth)
        try applyLimits(to: &configuration)
        if let value = audit?.recordPulls { configuration.recordPulls = value }
        if let text = audit?.retention, text != "forever" {
            configuration.auditRetention = try DurationParser.parse(text, key: "audit.retention")
        }
        try applyOperations(to: &configuration)
        return configuration
    }
}

extension Duration {
    /// Whole seconds, for SQL date arithmetic.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
