import ArgumentParser
import Foundation
import Logging
import RegistryCLI
import RegistryCore

#if canImport(Glibc)
import Glibc
#endif

/// `registry check`: verifies blob files against the database, safely while the
/// server runs. Exit 0 clean, 1 problems found, 2 the check could not run.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify the store: database integrity, blob files against their rows, orphan files, GC leftovers.",
        discussion: """
            Safe while the server runs: reads the database in one snapshot and changes nothing unless --repair is \
            given. Exit status: 0 clean, 1 problems found, 2 the check could not run (bad arguments, unreadable store).
            """
    )

    @OptionGroup var store: StoreOptions

    @Flag(name: .long, help: "Re-hash every blob file (SHA-256 in 1 MiB chunks) and report content that does not match its digest.")
    var verifyDigests = false

    @Flag(name: .long, help: "Fix what is safe: move orphan files to trash and delete them, finish an interrupted GC. Never deletes metadata.")
    var repair = false

    @Flag(name: .long, help: "Print the report as JSON on standard output.")
    var json = false

    func run() async throws {
        let report: CheckReport
        do {
            let (configuration, registry, logger) = try StoreCommand.open(store, label: "stowage.check")
            let pending = try registry.pendingMigrations()
            guard pending.isEmpty else {
                throw CheckCommandError("the database lacks migrations \(pending.joined(separator: ", ")): run `registry migrate` (or start the server) first")
            }
            var options = CheckOptions(recentWindow: configuration.gcDelay)
            options.verifyDigests = verifyDigests
            options.repair = repair
            report = try await CommandOutput.withProgress(unless: json) { progress in
                try await StoreChecker(registry: registry, logger: logger).check(options, progress: progress)
            }
        } catch {
            FileHandle.standardError.write(Data("registry check: \(error)\n".utf8))
            throw ExitCode(2)
        }
        try CommandOutput.print(report, json: json, summary: report.summary)
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}

struct CheckCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What `registry check` and `registry backup` share.
enum StoreCommand {
    /// The registry over an existing database, logging warnings only.
    static func open(_ store: StoreOptions, label: String) throws -> (RegistryConfiguration, Registry, Logger) {
        let configuration = try store.configuration()
        let paths = StoragePaths(root: configuration.dataDirectory)
        guard FileManager.default.fileExists(atPath: paths.database) else {
            throw CheckCommandError("no registry database at \(paths.database) (check --data-dir or data_dir in the config)")
        }
        var logger = Logger(label: label)
        logger.logLevel = .warning
        return (configuration, try Registry(configuration: configuration, logger: logger), logger)
    }
}
