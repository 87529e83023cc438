import Foundation
import GRDB
import Logging
import OCI

extension GarbageCollector {
    /// Deletes what the plan names, in small transactions that re-check each
    /// decision: manifests (parents before children), then blobs, then uploads.
    func sweep(
        _ plan: GCPlan, options: GCOptions, runID: Int64, holder: String, report: inout GCReport,
        progress: (@Sendable (String) -> Void)?
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
        progress: (@Sendable (String) -> Void)?
    ) async throws {
        var pending = manifests
        while !pending.isEmpty {
            var deferred: [GCPlan.Manifest] = []
            var progressMade = false
            for start in stride(from: 0, to: pending.count, by: options.batchSize) {
                let batch = Array(pending[start..<min(start + options.batchSize, pending.count)])
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
                        try Self.recordGCAudit(db, action: "gc.manifest.delete", repository: manifest.repository,
                                               digest: manifest.digest, size: manifest.size, runID: runID)
                        deleted.append(manifest)
                    }
                    return (deleted, waiting)
                }
                report.manifests += outcome.deleted.map(\.entry)
                deferred += outcome.waiting
                progressMade = progressMade || !outcome.deleted.isEmpty
                progress?("manifests: \(report.manifests.count)/\(manifests.count) deleted")
            }
            // Children wait for their garbage parents; without progress the rest are kept.
            pending = progressMade ? deferred : []
        }
    }

    /// Each batch is one transaction: re-check, journal and audit rows, row deletes,
    /// moves to trash. A batch's trash files are unlinked by a task that runs while the
    /// next transaction works, and their journal rows go in the transaction after that,
    /// so a batch costs one commit and the unlinks cost no lock time. The batch size
    /// adapts to the write lock's hold time (`GCOptions.targetWriteMilliseconds`).
    private func sweepBlobs(
        _ blobs: [GCReport.BlobEntry], options: GCOptions, runID: Int64, holder: String, report: inout GCReport,
        progress: (@Sendable (String) -> Void)?
    ) async throws {
        let store = self.store
        let logger = self.logger
        // A thrown error leaves files in trash with journal rows: recovery purges them.
        var unlinking: [Task<[String], Never>] = []
        var size = options.batchSize
        var start = 0
        while start < blobs.count {
            let batch = Array(blobs[start..<min(start + size, blobs.count)])
            start += batch.count
            var journalDone: [String] = []
            while unlinking.count > 1 { journalDone += await unlinking.removeFirst().value }
            let purged = journalDone
            let (deleted, hold) = try await measuredWrite(&report) { db -> [GCReport.BlobEntry] in
                try Self.renewLease(db, holder: holder)
                if !purged.isEmpty { try Self.clearJournal(db, purged) }
                return try Self.deleteBlobBatch(db, batch.map(\.digest), store: store, runID: runID, logger: logger)
            }
            size = Self.nextBatchSize(size, held: hold, options: options)
            let trashed = deleted.map(\.digest)
            unlinking.append(Task.detached {
                for digest in trashed.compactMap(Digest.init) { store.removeFromTrash(digest) }
                return trashed
            })
            report.blobs += deleted
            progress?("blobs: \(report.blobs.count)/\(blobs.count) deleted")
        }
        var last: [String] = []
        for task in unlinking { last += await task.value }
        if !last.isEmpty {
            let purged = last
            try await timedWrite(&report) { db in try Self.clearJournal(db, purged) }
        }
    }

    /// Halves the batch after a transaction that held the write lock longer than the
    /// target, doubles it (up to `maximumBatchSize`) after one that took under half.
    static func nextBatchSize(_ size: Int, held: Duration, options: GCOptions) -> Int {
        let milliseconds = held.seconds * 1000
        if milliseconds > options.targetWriteMilliseconds { return max(min(options.minimumBatchSize, options.batchSize), size / 2) }
        if milliseconds < options.targetWriteMilliseconds / 2 { return min(options.maximumBatchSize, size * 2) }
        return size
    }

    /// Inside one write transaction: the re-check (still unreferenced, lease still run
    /// out; under the write lock nothing can change between it and the deletes), then
    /// journal and audit rows, row deletes and moves to trash. If a move fails, the
    /// files moved so far go back and the transaction rolls back, so rows and files
    /// never disagree.
    private static func deleteBlobBatch(
        _ db: Database, _ candidates: [String], store: BlobStore, runID: Int64, logger: Logger
    ) throws -> [GCReport.BlobEntry] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT b.digest, b.size FROM blobs b WHERE b.digest IN (SELECT value FROM json_each(?))
              AND b.protected_until < strftime('%Y-%m-%d %H:%M:%f', 'now')
              AND NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.digest = b.digest)
            """), arguments: [jsonArray(candidates)])
            .map { GCReport.BlobEntry(digest: $0["digest"], size: $0["size"]) }
        guard !rows.isEmpty else { return [] }
        let digests = jsonArray(rows.map(\.digest))
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO blob_deletions(digest, size, gc_run_id)
            SELECT digest, size, ?2 FROM blobs WHERE digest IN (SELECT value FROM json_each(?1))
            """).execute(arguments: [digests, runID])
        try db.cachedStatement(sql: """
            INSERT INTO audit_events(actor, action, repository, digest, size, gc_run_id)
            SELECT 'gc', 'gc.blob.delete', NULL, digest, size, ?2 FROM blobs WHERE digest IN (SELECT value FROM json_each(?1))
            ORDER BY digest
            """).execute(arguments: [digests, runID])
        // Repository links first: their foreign key to blobs is RESTRICT.
        try db.cachedStatement(sql: "DELETE FROM repository_blobs WHERE digest IN (SELECT value FROM json_each(?))")
            .execute(arguments: [digests])
        try db.cachedStatement(sql: "DELETE FROM blobs WHERE digest IN (SELECT value FROM json_each(?))")
            .execute(arguments: [digests])
        var moved: [Digest] = []
        do {
            for row in rows {
                guard let digest = Digest(row.digest) else { continue }
                if try store.moveBlobToTrash(digest) {
                    moved.append(digest)
                } else {
                    logger.warning("blob row without a file, row deleted", metadata: ["digest": "\(digest)"])
                }
            }
        } catch {
            for digest in moved { store.restoreBlobFromTrash(digest) }
            throw error
        }
        return rows
    }

    /// The audit row of a deletion by a collector (`gc`), or by `registry check --repair`
    /// (`registry-check`, no run).
    static func recordGCAudit(
        _ db: Database, action: String, repository: String?, digest: String?, size: Int64, runID: Int64?, actor: String = "gc"
    ) throws {
        try db.cachedStatement(sql: """
            INSERT INTO audit_events(actor, action, repository, digest, size, gc_run_id) VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [actor, action, repository, digest, size, runID])
    }

    private func sweepUploads(_ uploads: [String], options: GCOptions, runID: Int64, holder: String, report: inout GCReport) async throws {
        let idleSince = Registry.nowSQL(minus: options.uploadTimeout)
        for start in stride(from: 0, to: uploads.count, by: options.batchSize) {
            let batch = Array(uploads[start..<min(start + options.batchSize, uploads.count)])
            let deleted = try await timedWrite(&report) { db -> [(id: String, size: Int64)] in
                try Self.renewLease(db, holder: holder)
                // The re-check: still idle (a client may have come back since the mark).
                let idle = try Row.fetchAll(db, sql: """
                    SELECT u.id, u.size, r.name FROM uploads u JOIN repositories r ON r.id = u.repository_id
                    WHERE u.id IN (SELECT value FROM json_each(?)) AND u.updated_at < \(idleSince)
                    """, arguments: [Self.jsonArray(batch)])
                return try idle.map { row in
                    try db.execute(sql: "DELETE FROM uploads WHERE id = ?", arguments: [row["id"] as String])
                    try Self.recordGCAudit(db, action: "gc.upload.delete", repository: row["name"], digest: nil,
                                           size: row["size"], runID: runID)
                    return (id: row["id"], size: row["size"])
                }
            }
            for id in deleted.compactMap({ UploadID($0.id) }) { store.removeUploadFile(id) }
            report.uploads += deleted.map(\.id)
            report.uploadBytes += deleted.reduce(0) { $0 + $1.size }
        }
    }

    /// Candidates found live (and not young) or referenced leave the queues; each is
    /// re-checked inside the transaction so a change since the mark keeps it queued.
    private func trimQueues(_ plan: GCPlan, options: GCOptions, report: inout GCReport) async throws {
        for start in stride(from: 0, to: plan.liveManifests.count, by: options.batchSize) {
            let batch = Array(plan.liveManifests[start..<min(start + options.batchSize, plan.liveManifests.count)])
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
        for start in stride(from: 0, to: plan.referencedBlobs.count, by: options.batchSize) {
            let batch = Array(plan.referencedBlobs[start..<min(start + options.batchSize, plan.referencedBlobs.count)])
            try await timedWrite(&report) { db in
                try db.execute(sql: """
                    DELETE FROM gc_blob_candidates WHERE digest IN (SELECT value FROM json_each(?))
                      AND EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.digest = gc_blob_candidates.digest)
                    """, arguments: [Self.jsonArray(batch)])
            }
        }
    }
}
