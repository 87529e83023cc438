import ArgumentParser
import RegistryCLI
import RegistryCore

/// `registry garbage-collect CONFIG`: distribution's spelling of `registry-gc`.
struct GarbageCollect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "garbage-collect",
        abstract: "Run garbage collection (the same as registry-gc; distribution's spelling)."
    )

    @Argument(help: "Configuration file.")
    var configFile: String?

    @Option(name: .long, help: "Directory holding the database and blobs (overrides data_dir).")
    var dataDir: String?

    @OptionGroup var gc: GCCommandOptions

    func run() async throws {
        var store = StoreOptions()
        store.config = configFile
        store.dataDir = dataDir
        try await GCCommandRunner.run(configuration: store.configuration(), flags: gc)
    }
}
