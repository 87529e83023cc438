import Foundation
import GRDB
import Logging
import OCI

/// Mark-and-sweep garbage collection, safe while the registry takes pushes.
///
/// Mark: in one read snapshot, the candidates (queues kept by triggers: new or
/// dereferenced blobs, manifests that lost a tag or a parent) are checked with a
/// recursive query that walks *up* from each candidate through parent indexes and
/// subjects; a candidate whose ancestry holds no root (a tagged manifest, or one
/// younger than the delay) is garbage. The cost grows with the candidates, not
/// with the registry.
///
/// Sweep: small write transactions, each re-checking its decisions before it
/// deletes (DESIGN.md's write protocol), so a push that re-references a blob or
/// re-tags a manifest between mark and sweep always wins.
public final class GarbageCollector: Sendable {
    let registry: Registry
    let logger: Logger
    let metrics: GCMetrics

    public init(registry: Registry, logger: Logger = Logger(label: "stowage.gc")) {
        self.registry = registry
        self.logger = logger
        metrics = GCMetrics(factory: registry.metrics.factory)
    }

    var store: BlobStore { registry.store }

    /// Runs one collection. Throws `GCError.leaseHeld` when another collector runs.
    public func run(_ options: GCOptions, progress: ProgressHandler? = nil) async throws -> GCReport {
        if registry.configuration.readOnly, !options.dryRun { throw GCError.readOnly }
        let started = ContinuousClock.now
        return try await withLease { holder in
            try await collect(options, holder: holder, started: started, progress: progress)
        }
    }

    private func collect(
        _ options: GCOptions, holder: String, started: ContinuousClock.Instant, progress: ProgressHandler?
    ) async throws -> GCReport {
        let runID = try await startRun(options)
        var report = GCReport(runID: runID, dryRun: options.dryRun, deleteUntagged: options.deleteUntagged, fullScan: options.fullScan)
        do {
            // Recovery moves and deletes files: a dry run changes nothing, and reports the
            // orphan upload files recovery would remove.
            let orphanUploads = options.dryRun
                ? try await orphanUploadFiles(olderThan: options.delay).map { [store] in Self.uploadFileEntry(store, $0) }
                : try await recover(runID: runID, delay: options.delay)
            report.orphanFiles = orphanUploads.map(\.path)
            report.orphanBytes = orphanUploads.reduce(0) { $0 + $1.size }
            await progress?("marking")
            let markStart = ContinuousClock.now
            let plan = try await mark(options)
            report.markMilliseconds = (ContinuousClock.now - markStart).milliseconds
            await progress?("marked: \(plan.manifests.count) manifests, \(plan.blobs.count) blobs, \(plan.uploads.count) uploads")
            if options.dryRun {
                report.manifests = plan.manifests.map(\.entry)
                report.blobs = plan.blobs
                report.uploads = plan.uploads
                report.uploadBytes = plan.uploadBytes
            } else {
                let sweepStart = ContinuousClock.now
                try await sweep(plan, options: options, runID: runID, holder: holder, report: &report, progress: progress)
                report.sweepMilliseconds = (ContinuousClock.now - sweepStart).milliseconds
            }
            if options.fullScan {
                await progress?("scanning disk")
                try await scanDisk(options, holder: holder, report: &report)
            }
            report.durationMilliseconds = Int64((ContinuousClock.now - started).milliseconds)
            try await finishRun(runID, report: report, error: nil)
            metrics.record(report)
            logger.info("garbage collection finished", metadata: [
                "run": "\(runID)", "dry_run": "\(options.dryRun)", "manifests": "\(report.manifests.count)",
                "blobs": "\(report.blobs.count)", "uploads": "\(report.uploads.count)",
                "bytes": "\(report.bytesReclaimed)", "ms": "\(report.durationMilliseconds)",
            ])
            return report
        } catch {
            report.durationMilliseconds = Int64((ContinuousClock.now - started).milliseconds)
            let failed = report
            // Uninterrupted, so that a run stopped by cancellation still records it.
            _ = try? await Registry.uninterrupted { try await self.finishRun(runID, report: failed, error: "\(error)") }
            metrics.failures.increment()
            throw error
        }
    }

    /// A write transaction of the sweep: timed, so the report can show that no
    /// transaction held the lock long.
    func timedWrite<T: Sendable>(_ report: inout GCReport, _ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        let (value, hold) = try await registry.heldWrite(body)
        record(hold, in: &report)
        return value
    }

    /// Counts a write transaction of the run and how long it held the write lock.
    func record(_ hold: Duration, in report: inout GCReport) {
        report.longestWriteMilliseconds = max(report.longestWriteMilliseconds, hold.milliseconds)
        report.writeTransactions += 1
        metrics.writeDuration.record(duration: hold)
    }

    private func startRun(_ options: GCOptions) async throws -> Int64 {
        try await registry.write { db in
            try db.execute(sql: """
                INSERT INTO gc_runs(trigger, dry_run, delete_untagged, full_scan, delay_seconds) VALUES (?, ?, ?, ?, ?)
                """, arguments: [options.trigger.rawValue, options.dryRun, options.deleteUntagged, options.fullScan, options.delay.seconds])
            return db.lastInsertedRowID
        }
    }

    private func finishRun(_ runID: Int64, report: GCReport, error: String?) async throws {
        try await registry.write { db in
            try db.execute(sql: """
                UPDATE gc_runs SET finished_at = strftime('%Y-%m-%d %H:%M:%f', 'now'), status = ?,
                    manifests_deleted = ?, blobs_deleted = ?, uploads_deleted = ?, orphan_files_deleted = ?,
                    bytes_reclaimed = ?, duration_ms = ?, error = ?
                WHERE id = ?
                """, arguments: [
                    error == nil ? "succeeded" : "failed", report.manifests.count, report.blobs.count, report.uploads.count,
                    report.orphanFiles.count, report.bytesReclaimed, report.durationMilliseconds, error, runID,
                ])
        }
    }
}
