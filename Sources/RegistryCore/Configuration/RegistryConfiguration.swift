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
