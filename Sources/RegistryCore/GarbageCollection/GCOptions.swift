/// How one garbage-collection run behaves.
public struct GCOptions: Sendable {
    public enum Trigger: String, Sendable {
        case service
        case cli
    }

    /// Report what would be deleted; write nothing but the `gc_runs` row.
    public var dryRun = false
    /// Delete manifests no tag reaches (through index children and referrers' subjects).
    public var deleteUntagged = false
    /// Blobs and manifests younger than this, and unreferenced blobs whose lease has
    /// not run out, are kept.
    public var delay: Duration
    /// Upload sessions idle longer than this are cancelled (`gc.upload_timeout`).
    public var uploadTimeout = RegistryConfiguration().uploadTimeout
    /// Also walk the disk: orphan files without a row, rows without a file.
    public var fullScan = false
    public var trigger: Trigger = .cli
    /// Rows per write transaction to start with; small so that each holds the write
    /// lock briefly.
    public var batchSize = defaultBatchSize
    public static let defaultBatchSize = 100
    /// Blob batches shrink (not below `minimumBatchSize`) while a transaction holds the
    /// write lock longer than this, and grow (up to 8 × `batchSize`) while they are quick.
    public var targetWriteMilliseconds: Double = 20
    public var minimumBatchSize = 5
    public var maximumBatchSize: Int { batchSize * 8 }

    public init(delay: Duration) {
        self.delay = delay
    }
}

extension GCOptions {
    var pacing: BatchPacing {
        BatchPacing(initial: batchSize, minimum: minimumBatchSize, maximum: maximumBatchSize, targetMilliseconds: targetWriteMilliseconds)
    }
}
