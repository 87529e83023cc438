import ArgumentParser
import Hummingbird
import Logging
import Metrics
import RegistryCLI
import RegistryCore
import RegistryHTTP
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the registry server (OCI Distribution Spec v1.1 and Docker Registry HTTP API V2).",
        discussion: """
            With no flags: listens on 0.0.0.0:5000, keeps its data in ./registry-data, creates and migrates the \
            database, and collects garbage every hour in the background.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "Address to listen on, HOST:PORT (default 0.0.0.0:5000).")
    var listen: String?

    @Flag(name: .long, help: "Refuse DELETE of manifests, tags and blobs (UNSUPPORTED, 405).")
    var disableDeletes = false

    @Flag(name: .long, help: "Maintenance mode: refuse every push and delete (UNSUPPORTED, 405) and delete nothing in GC; pulls work (maintenance.read_only).")
    var readOnly = false

    @Option(name: .long, help: "Run garbage collection this often, e.g. 10m, 1h; 0 turns the background collector off (default gc.interval, 1h).")
    var gcInterval: String?

    @Option(name: .long, help: "Protect new, unreferenced blobs and new manifests from GC for this long (default gc.delay, 1h).")
    var gcDelay: String?

    @Option(name: .long, help: ArgumentHelp(
        "Require HTTP Basic logins from this htpasswd file (bcrypt entries, htpasswd -B).",
        discussion: "Turns auth mode none into htpasswd: every listed user may do everything, anonymous callers are refused. "
            + "With auth.mode token in the config, the file supplies the users of the built-in /auth/token instead.",
        valueName: "file"))
    var htpasswd: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default log.level, info).")
    var logLevel: String?

    @Option(name: .long, help: "Log format: text, or json (one object per line) (default log.format, text).")
    var logFormat: String?

    @Option(name: .long, help: ArgumentHelp("Serve HTTPS with this PEM certificate chain (with --tls-key); SIGHUP reloads it.", valueName: "file"))
    var tlsCert: String?

    @Option(name: .long, help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    func run() async throws {
        var configuration = try store.configuration()
        if let listen { try configuration.set("listen", to: listen, flag: "--listen") }
        if disableDeletes { configuration.deleteEnabled = false }
        if readOnly { configuration.readOnly = true }
        if let gcDelay { try configuration.set("gc.delay", to: gcDelay, flag: "--gc-delay") }
        if let gcInterval {
            try configuration.set("gc.interval", to: gcInterval, flag: "--gc-interval")
            if configuration.gcInterval == .zero { configuration.gcEnabled = false }
        }
        if let htpasswd {
            try configuration.set("auth.htpasswd", to: htpasswd, flag: "--htpasswd")
            if configuration.auth.mode == .none { configuration.auth.mode = .htpasswd }
        }
        if let logLevel { try configuration.set("log.level", to: logLevel, flag: "--log-level") }
        if let logFormat { try configuration.set("log.format", to: logFormat, flag: "--log-format") }
        if let tlsCert { try configuration.set("tls.certificate", to: tlsCert, flag: "--tls-cert") }
        if let tlsKey { try configuration.set("tls.key", to: tlsKey, flag: "--tls-key") }
        try configuration.validate()
        LogBootstrap.bootstrap(configuration.log)
        let logger = Logger(label: "stowage")
        let backend = PrometheusBackend()
        let registry = try Registry.open(
            configuration: configuration, logger: logger, metrics: configuration.metrics.enabled ? backend : DiscardedMetrics())
        let collector = GarbageCollector(registry: registry, logger: logger)
        try await collector.recover()
        let access = try RegistryApplication.accessControl(for: registry, logger: logger)
        logger.info("starting", metadata: [
            "listen": "\(configuration.listenAddress)", "data_dir": "\(configuration.dataDirectory)",
            "deletes": "\(configuration.deleteEnabled ? "enabled" : "disabled")",
            "gc": "\(configuration.gcEnabled ? "every \(DurationParser.format(configuration.gcInterval)), delay \(DurationParser.format(configuration.gcDelay))" : "off")",
            "auth": "\(access.summary)",
            "mode": "\(configuration.readOnly ? "read-only (pushes, deletes and GC refused)" : "read-write")",
        ])
        var background: [any Service] = [AuditService(registry: registry, logger: logger)]
        if configuration.gcEnabled {
            background.append(GarbageCollectionService(
                collector: collector, interval: configuration.gcInterval, options: configuration.gcOptions, logger: logger))
        }
        try await runUntilShutdown(registry: registry, access: access, background: background, logger: logger)
    }

    /// Runs until SIGTERM/SIGINT: the listener stops accepting, requests in flight get up
    /// to `shutdown_timeout` to finish, GC stops at a safe point, the audit flush runs
    /// once more, then the database is checkpointed and closed.
    private func runUntilShutdown(registry: Registry, access: AccessControl, background: [any Service], logger: Logger) async throws {
        let configuration = registry.configuration
        if configuration.metrics.enabled { MetricsSystem.bootstrap(registry.metrics.backend.factory) }
        let accessLog = Logger(label: "stowage.access")
        var group = ServiceGroupConfiguration(
            services: try RegistryServer.services(
                registry: registry, access: access, background: background, logger: logger, accessLog: accessLog
            ).map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        group.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        // Past the shutdown timeout the services are cancelled; past this, the group
        // ends the process with a fatalError (before the database is closed). Statements
        // waiting for a lock give up on cancellation (`LockWaitShutdownService`); the
        // busy timeout plus a margin is the bound even if one does not.
        group.maximumCancellationDuration = configuration.databaseBusyTimeout + .seconds(10)
        var startFailure: ListenError?
        do {
            try await ServiceGroup(configuration: group).run()
        } catch let error as ListenError {
            startFailure = error
        } catch {
            logger.error("shutdown was not clean", metadata: ["error": "\(error)"])
        }
        do {
            try registry.close()
            logger.notice("stopped; database checkpointed and closed")
        } catch {
            logger.error("closing the database failed", metadata: ["error": "\(error)"])
        }
        // "Error: cannot listen on 127.0.0.1:5000: address already in use", exit 1.
        if let startFailure { throw startFailure }
    }
}
