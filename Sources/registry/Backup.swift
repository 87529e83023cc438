import ArgumentParser
import Foundation
import RegistryCLI
import RegistryCore

/// `registry backup DEST`: a consistent copy of the database taken while the server
/// runs, and optionally of the blob files it references, under the GC lease.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the database (and with --blobs the blob files) consistently while the server runs.",
        discussion: """
            Holds the garbage-collection lease for the whole backup, so no blob the copied database references \
            is deleted before it is copied. Restore: stop the server, put the database file at <data-dir>/registry.db \
            (removing any registry.db-wal and registry.db-shm there) and the blob directory at <data-dir>/blobs, \
            start the server, run `registry check`. See docs/backup.md.
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: "File to write the database copy to, e.g. /backup/stowage/registry.db.")
    var destination: String

    @Option(name: .long, help: ArgumentHelp(
        "Also copy the blob files the copy references into this directory (hard links on the same file system).",
        discussion: "Laid out like <data-dir>/blobs; files already there with the right size are kept, so a repeated backup into the same directory copies only new blobs.",
        valueName: "dir"))
    var blobs: String?

    @Flag(name: .long, help: "Replace an existing file at DEST.")
    var force = false

    @Flag(name: .long, help: "Print the report as JSON on standard output.")
    var json = false

    func run() async throws {
        let report: BackupReport
        do {
            let (_, registry, logger) = try StoreCommand.open(store, label: "stowage.backup")
            var options = BackupOptions(destination: destination)
            options.force = force
            options.blobsDirectory = blobs
            report = try await CommandOutput.withProgress(unless: json) { progress in
                try await DatabaseBackup(registry: registry, logger: logger).run(options, progress: progress)
            }
        } catch {
            FileHandle.standardError.write(Data("registry backup: \(error)\n".utf8))
            throw ExitCode.failure
        }
        try CommandOutput.print(report, json: json, summary: summary(report))
        if !report.blobsMissing.isEmpty { throw ExitCode.failure }
    }

    private func summary(_ report: BackupReport) -> String {
        var lines = [
            "database copied to \(report.database) (\(report.databaseBytes) bytes, integrity ok)",
            "  " + report.tables.map { "\($0.table): \($0.rows)" }.joined(separator: ", "),
        ]
        if let directory = report.blobsDirectory {
            lines.append("blobs copied to \(directory): \(report.blobsLinked) hard-linked, \(report.blobsCopied) copied, "
                         + "\(report.blobsAlreadyPresent) already there (\(report.blobBytes) bytes referenced)")
            if !report.blobsMissing.isEmpty {
                lines.append("  \(report.blobsMissing.count) blobs of the database have no file in the store; run `registry check`:")
                lines += report.blobsMissing.map { "    \($0)" }
            }
        } else {
            lines.append("""
                next: copy the blob files while no garbage collection deletes any, or run again with --blobs DIR, \
                which copies them under the GC lease (docs/backup.md)
                """)
        }
        lines.append("took \(report.durationMilliseconds) ms")
        return lines.joined(separator: "\n")
    }
}
