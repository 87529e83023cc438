import ArgumentParser
import Foundation
import RegistryCore

/// `registry config …`: configuration tools.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check the configuration file and the STOWAGE_* environment variables.",
        subcommands: [ConfigCheck.self]
    )
}

/// `registry config check FILE [--print]`: the validation `registry serve` does at start,
/// without starting anything. Exit 0 and "ok", or 1 and the error naming the key.
struct ConfigCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file with the STOWAGE_* environment variables applied.",
        discussion: """
            Unknown keys, unknown STOWAGE_* variables and bad values are reported with the key's dotted name, \
            exactly as `registry serve` refuses them at start. See docs/configuration.md for every key.
            """
    )

    @Argument(help: "YAML configuration file (none: check the environment variables alone).")
    var file: String?

    @Flag(name: .long, help: "Print the effective configuration as YAML: every key, with the defaults, the file and the environment applied.")
    var print = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        do {
            let configuration = try RegistryConfiguration.load(file: file, environment: environment)
            if print {
                let yaml = try configuration.effectiveYAML()
                Swift.print("# every key: the defaults, \(file ?? "no file") and the STOWAGE_* variables applied")
                Swift.print(yaml, terminator: yaml.hasSuffix("\n") ? "" : "\n")
            } else {
                Swift.print("ok")
            }
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
