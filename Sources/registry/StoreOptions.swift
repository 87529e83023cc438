import ArgumentParser
import RegistryCore

/// `--data-dir` and `--config`, shared by every command that opens a store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Directory holding the database and blobs (default ./registry-data, or data_dir from the config).")
    var dataDir: String?

    @Option(name: .long, help: "YAML configuration file; flags override its values.")
    var config: String?

    func configuration() throws -> RegistryConfiguration {
        var configuration = RegistryConfiguration()
        if let config {
            configuration = try RegistryConfiguration.load(file: config)
        }
        if let dataDir { configuration.dataDirectory = dataDir }
        return configuration
    }
}
