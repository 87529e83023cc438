import ArgumentParser
import Hummingbird
import Logging
import RegistryCore
import RegistryHTTP

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the registry server (OCI Distribution Spec v1.1 and Docker Registry HTTP API V2).",
        discussion: "With no flags: listens on 0.0.0.0:5000, keeps its data in ./registry-data, creates and migrates the database."
    )

    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "Address to listen on, HOST:PORT (default 0.0.0.0:5000).")
    var listen: String?

    @Flag(name: .long, help: "Refuse DELETE of manifests, tags and blobs (UNSUPPORTED, 405).")
    var disableDeletes = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        var configuration = try store.configuration()
        if let listen { try configuration.setListen(listen) }
        if disableDeletes { configuration.deleteEnabled = false }
        var logger = Logger(label: "stowage")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let registry = try Registry.open(configuration: configuration, logger: logger)
        logger.info("starting", metadata: [
            "listen": "\(configuration.listenAddress)", "data_dir": "\(configuration.dataDirectory)",
            "deletes": "\(configuration.deleteEnabled ? "enabled" : "disabled")", "auth": "none",
        ])
        let app = RegistryApplication.build(registry: registry, host: configuration.host, port: configuration.port, logger: logger)
        try await app.runService()
    }
}
