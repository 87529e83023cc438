import ArgumentParser
import RegistryCore

/// The flags of `registry-gc` and `registry garbage-collect`.
public struct GCCommandOptions: ParsableArguments {
    public init() {}

    @Flag(name: .long, help: "Report exactly what would be deleted; change nothing (the run is still recorded in gc_runs).")
    public var dryRun = false

    @Flag(name: [.long, .customShort("m")], help: "Also delete manifests that no tag reaches (through index children and referrer subjects).")
    public var deleteUntagged = false

    @Option(name: .long, help: "Keep manifests and orphan files younger than this, e.g. 30s, 10m, 1h (default: gc.delay, 1h). Unreferenced blobs are also kept until the lease the server gave them at upload runs out.")
    public var delay: String?

    @Option(name: .long, help: "Cancel upload sessions idle longer than this (default: gc.upload_timeout, 24h).")
    public var uploadTimeout: String?

    @Flag(name: .long, help: "Also walk the disk: remove orphan files, report rows whose file is missing.")
    public var full = false

    @Option(name: .long, help: "Rows deleted per write transaction to start with (default \(GCOptions.defaultBatchSize)); blob batches then adapt (5 to 8x this) to hold the SQLite write lock about 20 ms at a time.")
    public var batchSize: Int?

    @Flag(name: .long, help: "Print the report as JSON on standard output.")
    public var json = false

    @Flag(name: .shortAndLong, help: "List every deleted manifest and blob in the summary.")
    public var verbose = false

    /// The run's options: the configuration's, overridden by these flags.
    public func options(_ configuration: RegistryConfiguration) throws -> GCOptions {
        var configuration = configuration
        if deleteUntagged { configuration.gcDeleteUntagged = true }
        if let delay { try configuration.set("gc.delay", to: delay, flag: "--delay") }
        if let uploadTimeout { try configuration.set("gc.upload_timeout", to: uploadTimeout, flag: "--upload-timeout") }
        var options = configuration.gcOptions
        options.trigger = .cli
        options.dryRun = dryRun
        options.fullScan = full
        if let batchSize {
            guard batchSize > 0 else { throw ConfigurationError.invalid(key: "--batch-size", expected: "a positive number", got: "\(batchSize)") }
            options.batchSize = batchSize
        }
        return options
    }
}
