import Foundation
import Yams

// Every key of the configuration file, once: its path, the field it sets and what it
// accepts. The order here is the order of `config check --print` and of the keys an
// error message suggests. Defaults are the fields' initial values in
// RegistryConfiguration and the structs it holds; the file, STOWAGE_* variables and
// flags all go through these entries (`RegistryConfiguration.set`).

extension RegistryConfiguration {
    public static let keys: [ConfigurationKey] = [
        .custom("listen", read: { c, input in
            do {
                (c.host, c.port) = try hostAndPort(try input.text("HOST:PORT"))
            } catch {
                throw input.invalid("HOST:PORT")
            }
        }, write: { c in Node(c.listenAddress) }),
        .value("data_dir", \.dataDirectory),

        .value("storage.delete_enabled", \.deleteEnabled),
        .value("storage.sync_writes", \.syncWrites),
        .value("storage.max_manifest_size", \.maxManifestSize, valid: { $0 > 0 }, expected: "a positive number of bytes"),
        .custom("storage.max_blob_size", read: { c, input in
            c.limits.maxBlobSize = try ByteSize.parse(try input.text("a size such as 1GiB"), key: input.name)
        }, write: { c in Node(ByteSize.text(c.limits.maxBlobSize)) }),
        .value("storage.max_concurrent_uploads", \.limits.maxConcurrentUploads, valid: { $0 >= 0 },
               expected: "0 (no limit) or a positive number"),
        .value("storage.min_free_space", \.limits.minFreeSpace),

        .value("gc.enabled", \.gcEnabled),
        .value("gc.interval", \.gcInterval),
        .value("gc.delay", \.gcDelay),
        .value("gc.delete_untagged", \.gcDeleteUntagged),
        .value("gc.upload_timeout", \.uploadTimeout),

        .value("audit.record_pulls", \.recordPulls),
        .custom("audit.retention", read: { c, input in
            let text = try input.text("a duration such as 90d, or forever")
            c.auditRetention = text == "forever" ? nil : try DurationParser.parse(text, key: input.name)
        }, write: { c in Node(c.auditRetention.map(DurationParser.format) ?? "forever") }),

        .value("auth.mode", \.auth.mode),
        .value("auth.htpasswd", \.auth.htpasswdFile),
        .value("auth.realm", \.auth.realm),
        .value("auth.failed_login_limit", \.auth.failedLoginLimit),
        .value("auth.token.realm", \.auth.tokenRealm),
        .value("auth.token.service", \.auth.tokenService),
        .value("auth.token.issuer", \.auth.tokenIssuer),
        .value("auth.token.lifetime", \.auth.tokenLifetime),
        .value("auth.token.verification_keys", \.auth.tokenVerificationKeys),
        .value("auth.token.signing_key", \.auth.tokenSigningKey),
        .value("auth.groups", \.auth.groups),
        .value("auth.access", \.auth.rules),

        .value("maintenance.read_only", \.readOnly),

        .value("tls.certificate", \.tls.certificate),
        .value("tls.key", \.tls.key),

        .value("metrics.enabled", \.metrics.enabled),
        .custom("metrics.listen", read: { c, input in
            let trimmed = try input.text("HOST:PORT or empty").trimmingCharacters(in: .whitespaces)
            guard trimmed.isEmpty || (try? hostAndPort(trimmed)) != nil else { throw input.invalid("HOST:PORT or empty") }
            c.metrics.listen = trimmed
        }, write: { c in c.metrics.listen.yaml }),
        .value("metrics.path", \.metrics.path, valid: { path in
            path.hasPrefix("/") && path.count > 1 && !path.hasPrefix("/v2") && !path.contains("?")
                && !["/healthz", "/readyz", "/auth/token"].contains(path)
        }, expected: "an absolute path outside /v2, e.g. /metrics"),

        .value("log.level", \.log.level, valid: LogSettings.levels.contains, expected: LogSettings.levels.joined(separator: ", ")),
        .value("log.format", \.log.format),
        .value("log.access", \.log.access),

        .value("http.idle_timeout", \.http.idleTimeout, valid: { $0 > .zero }, expected: "a duration above zero"),
        .value("http.request_head_timeout", \.http.requestHeadTimeout, valid: { $0 > .zero }, expected: "a duration above zero"),
        .value("http.body_idle_timeout", \.http.bodyIdleTimeout, valid: { $0 > .zero }, expected: "a duration above zero"),
        .value("http.max_connections", \.http.maxConnections, valid: { $0 > 0 }, expected: "a positive number"),

        .value("shutdown_timeout", \.shutdownTimeout),
    ]

    /// Sets the key at `path` from a command-line flag's text, read and checked as the
    /// file's value would be; errors name the flag.
    public mutating func set(_ path: String, to text: String, flag: String) throws {
        guard let key = Self.keys.first(where: { $0.path == path }) else {
            preconditionFailure("no configuration key \(path)")
        }
        try key.read(&self, ConfigurationInput(value: .text(text), path: path, source: .flag(flag)))
    }

    /// What no single key can check: keys that only make sense together.
    public func validate() throws(ConfigurationError) {
        if auth.mode == .htpasswd, auth.htpasswdFile == nil {
            throw ConfigurationError.invalid(key: "auth.htpasswd", expected: "a path to an htpasswd file", got: "")
        }
        // A certificate without a key (or the reverse) is a mistake, not "TLS off".
        if tls.certificate != nil, tls.key == nil {
            throw ConfigurationError.invalid(key: "tls.key", expected: "a PEM private key file (tls.certificate is set)", got: "")
        }
        if tls.key != nil, tls.certificate == nil {
            throw ConfigurationError.invalid(key: "tls.certificate", expected: "a PEM certificate file (tls.key is set)", got: "")
        }
    }
}
