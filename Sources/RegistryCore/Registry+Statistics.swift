import GRDB

/// What the store holds, for the gauges on `/metrics`.
struct StoreCounts: Sendable {
    var blobs: Int
    var bytes: Double
    var uploads: Int
}

extension Registry {
    /// The Prometheus page of this registry's metrics (`/metrics`).
    public func metricsPage() async -> [UInt8] {
        await metrics.exposition { try await self.storeCounts() }
    }

    func storeCounts() async throws -> StoreCounts {
        try await read { db in
            let row = try Row.fetchOne(db, sql: "SELECT count(*) AS blobs, total(size) AS bytes FROM blobs")
            let uploads = try Int.fetchOne(db, sql: "SELECT count(*) FROM uploads") ?? 0
            return StoreCounts(blobs: row?["blobs"] ?? 0, bytes: row?["bytes"] ?? 0, uploads: uploads)
        }
    }
}
