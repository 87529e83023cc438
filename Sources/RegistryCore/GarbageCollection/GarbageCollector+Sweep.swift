import Algorithms
import GRDB
import OCI

extension GarbageCollector {
    /// Deletes what the plan names, in small transactions that re-check each
    /// decision: manifests (parents before children), then blobs, then uploads.
    func sweep(
        _ plan: GCPlan, options: GCOptions, runID: Int64, holder: String, report: inout GCReport,
        progress: ProgressHandler?
    ) async throws {
        try await sweepManifests(plan.manifests, options: options, runID: runID, holder: holder, report: &report, progress: progress)
        // Blobs the deleted manifests referenced were queued by triggers; the plan
        // already names those whose lease has run out.
        try await sweepBlobs(plan.blobs, options: options, runID: runID, holder: holder, report: &report, progress: progress)
        try await sweepUploads(plan.uploads, options: options, runID: runID, holder: holder, report: &report)
        try await trimQueues(plan, options: options, report: &report)
    }

    private func sweepManifests(
        _ manifests: [GCPlan.Manifest], options: GCOptions, runID: Int64, holder: String, report: inout GCReport,
        progress: ProgressHandler?
    ) async throws {
        var pending = manifests
        while !pending.isEmpty {
            var deferred: [GCPlan.Manifest] = []
            var progressMade = false
            for chunk in pending.chunks(ofCount: options.batchSize) {
                let batch = Array(chunk)
                let outcome = try await timedWrite(&report) { db -> (deleted: [GCPlan.Manifest], waiting: [GCPlan.Manifest]) in
                    try Self.renewLease(db, holder: holder)
                    let ids = batch.map(\.id)
                    let live = try Self.liveManifests(db, among: ids, delay: options.delay)
                    let withParents = Set(try Int64.fetchAll(db, sql: """
                        SELECT DISTINCT child_id FROM manifest_children WHERE child_id IN (SELECT value FROM json_each(?))
                        """, arguments: [Self.jsonArray(ids)]))
                    let present = Set(try Int64.fetchAll(db, sql: "SELECT id FROM manifests WHERE id IN (SELECT value FROM json_each(?))",
                                                         arguments: [Self.jsonArray(ids)]))
                    var deleted: [GCPlan.Manifest] = [], waiting: [GCPlan.Manifest] = []
                    for manifest in batch where present.contains(manifest.id) && !live.contains(manifest.id) {
                        if withParents.contains(manifest.id) {
                            waiting.append(manifest)
                            continue
                        }
                        try db.cachedStatement(sql: "DELETE FROM manifests WHERE id = ?").execute(arguments: [manifest.id])
                        try AuditTrail.record(db, .deletion("gc.manifest.delete", by: Self.auditActor, runID: runID,
                                                            repository: manifest.repository, digest: manifest.digest, size: manifest.size))
                        deleted.append(manifest)
                    }
                    return (deleted, waiting)
                }
                report.manifests += outcome.deleted.map(\.entry)
                deferred += outcome.waiting
                progressMade = progressMade || !outcome.deleted.isEmpty
                await progress?("manifests: \(report.manifests.count)/\(manifests.count) deleted")
            }
            // Children wait for their garbage parents; without progress the rest are kept.
            pending = progressMade ? deferred : []
        }
    }

    /// Through the one way a blob file leaves `blobs/` (Registry+BlobRetirement.swift):
    /// each batch's re-check, row deletes, moves to trash, journal and audit rows in one
    /// transaction, paced by the write lock's hold time.
    private func sweepBlobs(
        _ blobs: [GCReport.BlobEntry], options: GCOptions, runID: Int64, holder: String, report: inout GCReport,
        progress: ProgressHandler?
    ) async throws {
        let total = blobs.count
        let outcome = try await registry.retireBlobs(
            blobs.compactMap { Digest($0.digest) }, .unreferenced,
            by: .init(actor: Self.auditActor, runID: runID, leaseHolder: holder, pacing: options.pacing),
            progress: progress.map { progress -> @Sendable (Int) async -> Void in { await progress("blobs: \($0)/\(total) deleted") } })
        report.blobs += outcome.retired.map { GCReport.BlobEntry(digest: $0.digest.description, size: $0.size) }
        for hold in outcome.holds { record(hold, in: &report) }
    }

    /// The audit rows' actor of a collector's deletions.
    static let auditActor = "gc"

    private func sweepUploads(_ uploads: [String], options: GCOptions, runID: Int64, holder: String, report: inout GCReport) async throws {
        let idleSince = Registry.nowSQL(minus: options.uploadTimeout)
        for chunk in uploads.chunks(ofCount: options.batchSize) {
            let batch = Array(chunk)
            let deleted = try await timedWrite(&report) { db -> [(id: String, size: Int64)] in
                try Self.renewLease(db, holder: holder)
                // The re-check: still idle (a client may have come back since the mark).
                let idle = try Row.fetchAll(db, sql: """
                    SELECT u.id, u.size, r.name FROM uploads u JOIN repositories r ON r.id = u.repository_id
                    WHERE u.id IN (SELECT value FROM json_each(?)) AND u.updated_at < \(idleSince)
                    """, arguments: [Self.jsonArray(batch)])
                return try idle.map { row in
                    try db.execute(sql: "DELETE FROM uploads WHERE id = ?", arguments: [row["id"] as String])
                    try AuditTrail.record(db, .deletion("gc.upload.delete", by: Self.auditActor, runID: runID,
                                                        repository: row["name"], size: row["size"]))
                    return (id: row["id"], size: row["size"])
                }
            }
            let store = self.store, removed = deleted.compactMap { UploadID($0.id) }
            try await BlockingIO.run { for id in removed { store.removeUploadFile(id) } }
            report.uploads += deleted.map(\.id)
            report.uploadBytes += deleted.reduce(0) { $0 + $1.size }
        }
    }

    /// Candidates found live (and not young) or referenced leave the queues; each is
    /// re-checked inside the transaction so a change since the mark keeps it queued.
    private func trimQueues(_ plan: GCPlan, options: GCOptions, report: inout GCReport) async throws {
        for chunk in plan.liveManifests.chunks(ofCount: options.batchSize) {
            let batch = Array(chunk)
            try await timedWrite(&report) { db in
                let live = try Self.liveManifests(db, among: batch, delay: options.delay)
                let oldLive = try Int64.fetchAll(db, sql: """
                    SELECT id FROM manifests WHERE id IN (SELECT value FROM json_each(?))
                      AND pushed_at <= \(Self.cutoffSQL(options.delay))
                    """, arguments: [Self.jsonArray(Array(live))])
                try db.execute(sql: "DELETE FROM gc_manifest_candidates WHERE manifest_id IN (SELECT value FROM json_each(?))",
                               arguments: [Self.jsonArray(oldLive)])
            }
        }
        if !plan.staleManifestCandidates.isEmpty {
            try await timedWrite(&report) { db in
                try db.execute(sql: """
                    DELETE FROM gc_manifest_candidates WHERE manifest_id IN (SELECT value FROM json_each(?))
                      AND NOT EXISTS (SELECT 1 FROM manifests WHERE id = manifest_id)
                    """, arguments: [Self.jsonArray(plan.staleManifestCandidates)])
            }
        }
        for chunk in plan.referencedBlobs.chunks(ofCount: options.batchSize) {
            let batch = Array(chunk)
            try await timedWrite(&report) { db in
                try db.execute(sql: """
                    DELETE FROM gc_blob_candidates WHERE digest IN (SELECT value FROM json_each(?))
                      AND EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.digest = gc_blob_candidates.digest)
                    """, arguments: [Self.jsonArray(batch)])
            }
        }
    }
}
