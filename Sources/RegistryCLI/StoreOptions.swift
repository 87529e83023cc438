import ArgumentParser
import Foundation
import RegistryCore

/// `--data-dir` and `--config`, shared by every command that opens a store.
public struct StoreOptions: ParsableArguments {
    public init() {}

    @Option(name: .long, help: "Directory holding the database and blobs (default ./registry-data, or data_dir from the config).")
    public var dataDir: String?

    @Option(name: .long, help: "YAML configuration file; STOWAGE_* environment variables override its values, and flags override both.")
    public var config: String?

    /// Defaults < file < `STOWAGE_*` environment variables < flags.
    public func configuration() throws -> RegistryConfiguration {
        var configuration = try RegistryConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment)
        if let dataDir { try configuration.set("data_dir", to: dataDir, flag: "--data-dir") }
        return configuration
    }
}
