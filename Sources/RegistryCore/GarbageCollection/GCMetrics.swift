import Metrics

/// Garbage-collection metrics, through swift-metrics: whatever backend the process
/// bootstraps (Prometheus in the server) exports them.
struct GCMetrics: Sendable {
    let runs = Counter(label: "stowage_gc_runs_total")
    let failures = Counter(label: "stowage_gc_failures_total")
    let manifestsDeleted = Counter(label: "stowage_gc_manifests_deleted_total")
    let blobsDeleted = Counter(label: "stowage_gc_blobs_deleted_total")
    let uploadsDeleted = Counter(label: "stowage_gc_uploads_deleted_total")
    let bytesReclaimed = Counter(label: "stowage_gc_bytes_reclaimed_total")
    let leaseWaits = Counter(label: "stowage_gc_lease_waits_total")
    let duration = Metrics.Timer(label: "stowage_gc_duration_seconds")
    let writeDuration = Metrics.Timer(label: "stowage_gc_write_transaction_seconds")

    func record(_ report: GCReport) {
        runs.increment()
        guard !report.dryRun else { return }
        manifestsDeleted.increment(by: report.manifests.count)
        blobsDeleted.increment(by: report.blobs.count)
        uploadsDeleted.increment(by: report.uploads.count)
        bytesReclaimed.increment(by: Int(report.bytesReclaimed))
        duration.recordMilliseconds(report.durationMilliseconds)
    }
}

extension Metrics.Timer {
    func recordSeconds(_ seconds: Double) {
        recordNanoseconds(Int64(seconds * 1e9))
    }
}
