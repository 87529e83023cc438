import Foundation

// The operations sections of the YAML file: tls, metrics, log, http and shutdown_timeout.

extension ConfigurationFile {
    struct TLS: Codable {
        var certificate: String?
        var key: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case certificate, key
        }
    }

    struct Metrics: Codable {
        var enabled: Bool?
        var listen: String?
        var path: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case enabled, listen, path
        }
    }

    struct Log: Codable {
        var level: String?
        var format: String?
        var access: Bool?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case level, format, access
        }
    }

    struct HTTP: Codable {
        var idleTimeout: String?
        var requestHeadTimeout: String?
        var bodyIdleTimeout: String?
        var maxConnections: Int?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case idleTimeout = "idle_timeout", requestHeadTimeout = "request_head_timeout"
            case bodyIdleTimeout = "body_idle_timeout", maxConnections = "max_connections"
        }

        func apply(to http: inout HTTPSettings) throws {
            if let text = idleTimeout { http.idleTimeout = try Self.positive(text, key: "http.idle_timeout") }
            if let text = requestHeadTimeout { http.requestHeadTimeout = try Self.positive(text, key: "http.request_head_timeout") }
            if let text = bodyIdleTimeout { http.bodyIdleTimeout = try Self.positive(text, key: "http.body_idle_timeout") }
            if let value = maxConnections {
                guard value > 0 else {
                    throw ConfigurationError.invalid(key: "http.max_connections", expected: "a positive number", got: "\(value)")
                }
                http.maxConnections = value
            }
        }

        private static func positive(_ text: String, key: String) throws -> Duration {
            let duration = try DurationParser.parse(text, key: key)
            guard duration > .zero else { throw ConfigurationError.invalid(key: key, expected: "a duration above zero", got: text) }
            return duration
        }
    }

    func applyOperations(to configuration: inout RegistryConfiguration) throws {
        try http?.apply(to: &configuration.http)
        if let value = tls?.certificate { configuration.tls.certificate = value }
        if let value = tls?.key { configuration.tls.key = value }
        if let value = metrics?.enabled { configuration.metrics.enabled = value }
        if let value = metrics?.listen { try configuration.setMetricsListen(value) }
        if let value = metrics?.path { try configuration.setMetricsPath(value) }
        if let value = log?.level { try configuration.setLogLevel(value) }
        if let value = log?.format { try configuration.setLogFormat(value) }
        if let value = log?.access { configuration.log.access = value }
        if let text = shutdownTimeout {
            configuration.shutdownTimeout = try DurationParser.parse(text, key: "shutdown_timeout")
        }
        try configuration.validateTLS()
    }
}

extension RegistryConfiguration {
    public mutating func setMetricsListen(_ address: String) throws(ConfigurationError) {
        let trimmed = address.trimmingCharacters(in: .whitespaces)
        guard trimmed.isEmpty || (try? Self.hostAndPort(trimmed)) != nil else {
            throw ConfigurationError.invalid(key: "metrics.listen", expected: "HOST:PORT or empty", got: address)
        }
        metrics.listen = trimmed
    }

    public mutating func setMetricsPath(_ path: String) throws(ConfigurationError) {
        guard path.hasPrefix("/"), path.count > 1, !path.hasPrefix("/v2"), !path.contains("?"),
              !["/healthz", "/readyz", "/auth/token"].contains(path)
        else {
            throw ConfigurationError.invalid(key: "metrics.path", expected: "an absolute path outside /v2, e.g. /metrics", got: path)
        }
        metrics.path = path
    }

    public mutating func setLogLevel(_ level: String) throws(ConfigurationError) {
        guard LogSettings.levels.contains(level) else {
            throw ConfigurationError.invalid(key: "log.level", expected: LogSettings.levels.joined(separator: ", "), got: level)
        }
        log.level = level
    }

    public mutating func setLogFormat(_ format: String) throws(ConfigurationError) {
        guard let value = LogSettings.Format(rawValue: format) else {
            throw ConfigurationError.invalid(key: "log.format", expected: "text or json", got: format)
        }
        log.format = value
    }

    /// A certificate without a key (or the reverse) is a mistake, not "TLS off".
    public func validateTLS() throws(ConfigurationError) {
        if tls.certificate != nil, tls.key == nil {
            throw ConfigurationError.invalid(key: "tls.key", expected: "a PEM private key file (tls.certificate is set)", got: "")
        }
        if tls.key != nil, tls.certificate == nil {
            throw ConfigurationError.invalid(key: "tls.certificate", expected: "a PEM certificate file (tls.key is set)", got: "")
        }
    }
}
