import ArgumentParser
import Foundation
import Logging
import RegistryCore

#if canImport(Glibc)
import Glibc
#endif

/// Runs one collection from the command line: progress on a terminal, a summary
/// or a JSON report, and exit codes: 0 done, 1 failed, 75 another collector holds
/// the lease (EX_TEMPFAIL: try again later).
public enum GCCommandRunner {
    public static let leaseHeldExitCode: Int32 = 75

    public static func run(configuration: RegistryConfiguration, flags: GCCommandOptions) async throws {
        let options = try flags.options(configuration)
        var logger = Logger(label: "stowage.gc")
        logger.logLevel = .warning
        let registry = try Registry.open(configuration: configuration, logger: logger)
        let collector = GarbageCollector(registry: registry, logger: logger)
        let report: GCReport
        do {
            report = try await CommandOutput.withProgress(unless: flags.json) { progress in
                try await registry.withOneCheckpoint { try await collector.run(options, progress: progress) }
            }
        } catch let error as GCError {
            FileHandle.standardError.write(Data("registry-gc: \(error)\n".utf8))
            throw ExitCode(leaseHeldExitCode)
        }
        try CommandOutput.print(report, json: flags.json, summary: summary(report, verbose: flags.verbose))
    }

    static func summary(_ report: GCReport, verbose: Bool) -> String {
        let verb = report.dryRun ? "would delete" : "deleted"
        var lines = [
            "garbage collection run \(report.runID)\(report.dryRun ? " (dry run: nothing was changed)" : "")",
            "  manifests \(verb): \(report.manifests.count)",
            "  blobs \(verb): \(report.blobs.count)",
            "  upload sessions \(verb): \(report.uploads.count)",
            "  bytes \(report.dryRun ? "to reclaim" : "reclaimed"): \(report.bytesReclaimed) (\(formatBytes(report.bytesReclaimed)))",
        ]
        if report.fullScan || !report.orphanFiles.isEmpty {
            lines.append("  orphan files \(verb): \(report.orphanFiles.count)")
        }
        if report.fullScan {
            lines.append("  blob rows with a missing file: \(report.missingBlobFiles.count)")
        }
        lines.append("  duration: \(report.durationMilliseconds) ms (mark \(String(format: "%.0f", report.markMilliseconds)) ms, "
            + "sweep \(String(format: "%.0f", report.sweepMilliseconds)) ms; \(report.writeTransactions) write transactions, "
            + "longest \(String(format: "%.1f", report.longestWriteMilliseconds)) ms)")
        if verbose {
            lines += report.manifests.map { "  manifest \($0.repository)@\($0.digest)" }
            lines += report.blobs.map { "  blob \($0.digest) \($0.size)" }
            lines += report.uploads.map { "  upload \($0)" }
            lines += report.orphanFiles.map { "  orphan \($0)" }
        }
        lines += report.missingBlobFiles.map { "  MISSING FILE for blob \($0)" }
        return lines.joined(separator: "\n")
    }

    static func formatBytes(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return String(format: unit == 0 ? "%.0f %@" : "%.1f %@", value, units[unit])
    }
}
