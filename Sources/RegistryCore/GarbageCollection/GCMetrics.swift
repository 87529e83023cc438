import CoreMetrics
import Metrics

/// Garbage-collection metrics, through swift-metrics handles made by the registry's
/// factory, so that its `/metrics` page exports them.
struct GCMetrics: Sendable {
    let runs: Counter
    let failures: Counter
    let manifestsDeleted: Counter
    let blobsDeleted: Counter
    let uploadsDeleted: Counter
    let bytesReclaimed: Counter
    let leaseWaits: Counter
    let duration: Metrics.Timer
    let writeDuration: Metrics.Timer

    init(factory: any MetricsFactory) {
        runs = Counter(label: "stowage_gc_runs_total", factory: factory)
        failures = Counter(label: "stowage_gc_failures_total", factory: factory)
        manifestsDeleted = Counter(label: "stowage_gc_manifests_deleted_total", factory: factory)
        blobsDeleted = Counter(label: "stowage_gc_blobs_deleted_total", factory: factory)
        uploadsDeleted = Counter(label: "stowage_gc_uploads_deleted_total", factory: factory)
        bytesReclaimed = Counter(label: "stowage_gc_reclaimed_bytes_total", factory: factory)
        leaseWaits = Counter(label: "stowage_gc_lease_waits_total", factory: factory)
        duration = Metrics.Timer(label: "stowage_gc_duration_seconds", factory: factory)
        writeDuration = Metrics.Timer(label: "stowage_gc_write_transaction_seconds", factory: factory)
    }

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
