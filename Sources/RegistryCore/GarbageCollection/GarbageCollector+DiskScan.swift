import GRDB
import OCI

extension GarbageCollector {
    /// `--full`: walks `blobs/` for files no row describes, and for rows whose file is
    /// missing (reported, never deleted: corruption). Files older than the delay are
    /// retired the one way a blob file leaves `blobs/` (Registry+BlobRetirement.swift):
    /// re-checked under the write lock, moved to trash, journaled and audited
    /// (`gc.orphan.delete`), purged after the commit. Their bytes count as reclaimed.
    /// This is the only part of GC that reads the whole disk. (Orphan upload files are
    /// removed by every run, in `recover`.)
    func scanDisk(_ options: GCOptions, holder: String, report: inout GCReport) async throws {
        let store = self.store, delay = options.delay.seconds
        let (files, oldFiles) = try await BlockingIO.run {
            let files = store.blobFilesOnDisk()
            return (files, files.filter { (DirectoryListing.age(store.paths.blob($0)) ?? 0) > delay })
        }
        let rows = try await registry.read { db in
            Set(try String.fetchAll(db, sql: "SELECT digest FROM blobs"))
        }
        let orphans = oldFiles.filter { !rows.contains($0.description) }.sorted { $0.description < $1.description }
        let onDisk = Set(files.map(\.description))
        let unseen = rows.filter { !onDisk.contains($0) }
        // Looked at again: a file that appeared since the walk (an upload finishing) is there.
        report.missingBlobFiles = try await BlockingIO.run {
            unseen.filter { row in Digest(row).map { !store.blobExists($0) } ?? true }.sorted()
        }
        let removed: [Registry.RetiredBlob]
        if options.dryRun {
            removed = try await BlockingIO.run {
                orphans.map { Registry.RetiredBlob(digest: $0, size: DirectoryListing.size(store.paths.blob($0)) ?? 0) }
            }
        } else {
            let outcome = try await registry.retireBlobs(
                orphans, .orphan(olderThan: options.delay),
                by: .init(actor: Self.auditActor, runID: report.runID, leaseHolder: holder, pacing: options.pacing))
            for hold in outcome.holds { record(hold, in: &report) }
            removed = outcome.retired
        }
        report.orphanFiles = (report.orphanFiles + removed.map { store.paths.blob($0.digest) }).sorted()
        report.orphanBytes += removed.reduce(0) { $0 + $1.size }
    }
}
