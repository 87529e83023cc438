import ArgumentParser
import RegistryCore

/// `--data-dir` and `--config`, shared by every command that opens a store.
public struct StoreOptions: ParsableArguments {
    public init() {}

    @Option(name: .long, help: "Directory holding the database and blobs (default ./registry-data, or data_dir from the config).")
    public var dataDir: String?

    @Option(name: .long, help: "YAML configuration file; flags override its values.")
    public var config: String?

    public func configuration() throws -> RegistryConfiguration {
        var configuration = RegistryConfiguration()
        if let config {
            configuration = try RegistryConfiguration.load(file: config)
        }
        if let dataDir { configuration.dataDirectory = dataDir }
        return configuration
    }
}
