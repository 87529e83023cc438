/// TLS on the main listener: PEM files, re-read on SIGHUP.
public struct TLSFiles: Sendable, Equatable {
    /// The certificate chain (leaf first), PEM.
    public var certificate: String?
    /// The private key of the leaf certificate, PEM.
    public var key: String?

    public init(certificate: String? = nil, key: String? = nil) {
        self.certificate = certificate
        self.key = key
    }

    /// Both files given: the main listener speaks HTTPS.
    public var isEnabled: Bool { certificate != nil && key != nil }
}

/// The Prometheus endpoint.
public struct MetricsSettings: Sendable, Equatable {
    public var enabled = true
    /// Empty: served on the main listener. `HOST:PORT`: served only on a separate plain-HTTP
    /// listener (with the health endpoints), and not on the main one.
    public var listen = ""
    public var path = "/metrics"

    public init() {}
}

/// Log output of `registry serve`.
public struct LogSettings: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        /// swift-log's default line: `timestamp level label: message metadata`.
        case text
        /// One JSON object per line (timestamp, level, label, message, metadata fields).
        case json
    }

    public var format = Format.text
    /// trace, debug, info, notice, warning, error or critical.
    public var level = "info"
    /// The one `stowage.access` line per request; off leaves every other log line as it is.
    public var access = true

    public init() {}

    public static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
}

extension LogSettings.Format: ConfigurationChoice {}
