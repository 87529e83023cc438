// The file that sets every key to its effective value: what `registry config check
// --print` prints. Loaded back, it gives the same configuration.

extension ConfigurationFile {
    init(_ c: RegistryConfiguration) {
        listen = c.listenAddress
        dataDir = c.dataDirectory
        storage = Storage(
            deleteEnabled: c.deleteEnabled, syncWrites: c.syncWrites, maxManifestSize: c.maxManifestSize,
            maxBlobSize: ByteSize.text(c.limits.maxBlobSize), maxConcurrentUploads: c.limits.maxConcurrentUploads,
            minFreeSpace: c.limits.minFreeSpace.text)
        gc = GC(enabled: c.gcEnabled, interval: DurationParser.format(c.gcInterval), delay: DurationParser.format(c.gcDelay),
                deleteUntagged: c.gcDeleteUntagged, uploadTimeout: DurationParser.format(c.uploadTimeout))
        audit = Audit(recordPulls: c.recordPulls, retention: c.auditRetention.map(DurationParser.format) ?? "forever")
        auth = Auth(c.auth)
        maintenance = Maintenance(readOnly: c.readOnly)
        tls = TLS(certificate: c.tls.certificate, key: c.tls.key)
        metrics = Metrics(enabled: c.metrics.enabled, listen: c.metrics.listen, path: c.metrics.path)
        log = Log(level: c.log.level, format: c.log.format.rawValue, access: c.log.access)
        http = HTTP(idleTimeout: DurationParser.format(c.http.idleTimeout),
                    requestHeadTimeout: DurationParser.format(c.http.requestHeadTimeout),
                    bodyIdleTimeout: DurationParser.format(c.http.bodyIdleTimeout), maxConnections: c.http.maxConnections)
        shutdownTimeout = DurationParser.format(c.shutdownTimeout)
    }
}

extension ConfigurationFile.Auth {
    init(_ a: AuthConfiguration) {
        mode = a.mode.rawValue
        htpasswd = a.htpasswdFile
        realm = a.realm
        token = Token(realm: a.tokenRealm, service: a.tokenService, issuer: a.tokenIssuer,
                      verificationKeys: a.tokenVerificationKeys, signingKey: a.tokenSigningKey,
                      lifetime: DurationParser.format(a.tokenLifetime))
        groups = a.groups
        access = a.rules.map { rule in
            Rule(subjects: rule.subjects, repositories: rule.repositories,
                 actions: AuthConfiguration.Action.allCases.filter(rule.actions.contains).map(\.rawValue))
        }
        failedLoginLimit = a.failedLoginLimit
    }

    // Written out so that a key without a value is `null` rather than left out.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mode, forKey: .mode)
        try container.encode(htpasswd, forKey: .htpasswd)
        try container.encode(realm, forKey: .realm)
        try container.encode(failedLoginLimit, forKey: .failedLoginLimit)
        try container.encode(token, forKey: .token)
        try container.encode(groups, forKey: .groups)
        try container.encode(access, forKey: .access)
    }
}

extension ConfigurationFile.Auth.Token {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(realm, forKey: .realm)
        try container.encode(service, forKey: .service)
        try container.encode(issuer, forKey: .issuer)
        try container.encode(lifetime, forKey: .lifetime)
        try container.encode(verificationKeys, forKey: .verificationKeys)
        try container.encode(signingKey, forKey: .signingKey)
    }
}

extension ConfigurationFile.TLS {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(certificate, forKey: .certificate)
        try container.encode(key, forKey: .key)
    }
}
