import ArgumentParser
import Hummingbird
import Logging
import RegistryCLI
import RegistryCore
import RegistryHTTP

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

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        var configuration = try store.configuration()
        if let listen { try configuration.setListen(listen) }
        if disableDeletes { configuration.deleteEnabled = false }
        if let gcDelay { configuration.gcDelay = try DurationParser.parse(gcDelay, key: "--gc-delay") }
        if let gcInterval {
            configuration.gcInterval = try DurationParser.parse(gcInterval, key: "--gc-interval")
            if configuration.gcInterval == .zero { configuration.gcEnabled = false }
        }
        if let htpasswd {
            configuration.auth.htpasswdFile = htpasswd
            if configuration.auth.mode == .none { configuration.auth.mode = .htpasswd }
        }
        var logger = Logger(label: "stowage")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let registry = try Registry.open(configuration: configuration, logger: logger)
        let collector = GarbageCollector(registry: registry, logger: logger)
        try await collector.recover()
        let access = try RegistryApplication.accessControl(for: registry, logger: logger)
        logger.info("starting", metadata: [
            "listen": "\(configuration.listenAddress)", "data_dir": "\(configuration.dataDirectory)",
            "deletes": "\(configuration.deleteEnabled ? "enabled" : "disabled")",
            "gc": "\(configuration.gcEnabled ? "every \(configuration.gcInterval), delay \(configuration.gcDelay)" : "off")",
            "auth": "\(access.summary)",
        ])
        var app = RegistryApplication.build(registry: registry, access: access, host: configuration.host, port: configuration.port, logger: logger)
        app.addServices(AuditService(registry: registry, logger: logger))
        if configuration.gcEnabled {
            app.addServices(GarbageCollectionService(
                collector: collector, interval: configuration.gcInterval, options: configuration.gcOptions, logger: logger))
        }
        try await app.runService()
    }
}
