import Foundation
import GRDB
import OCI
import RegistryCore
import Testing

/// What an operator reads afterwards: one gc_runs row per run with its counts and
/// bytes, and one audit_events row (actor 'gc', with the run's id) per deletion.
@Suite("GC run records and audit")
struct GCRunRecordTests {
    /// "What did GC delete, and how many bytes came back?" is one SQL query.
    static let operatorQuery = """
        SELECT r.id AS run, r.bytes_reclaimed AS reported_bytes,
               r.manifests_deleted + r.blobs_deleted + r.uploads_deleted + r.orphan_files_deleted AS reported_deletions,
               count(a.id) AS audited_deletions, coalesce(sum(a.size), 0) AS audited_bytes,
               coalesce(group_concat(a.action || ' ' || coalesce(a.digest, a.repository), char(10)), '') AS what
        FROM gc_runs r LEFT JOIN audit_events a ON a.gc_run_id = r.id AND a.actor = 'gc'
        WHERE r.dry_run = 0 AND r.status = 'succeeded'
        GROUP BY r.id ORDER BY r.id
        """

    struct RunSummary: Sendable, Equatable {
        var run: Int64
        var reportedBytes: Int64
        var reportedDeletions: Int
        var auditedDeletions: Int
        var auditedBytes: Int64
        var what: Set<String>
    }

    @Test func realRunWritesRunRowAndAuditEventsThatAnswerTheOperatorsQuestion() async throws {
        let store = try GCStore()
        let garbage = try await store.plantGarbage()
        let first = try await store.gc(deleteUntagged: true)
        _ = try await store.gc(deleteUntagged: true, dryRun: true)
        let second = try await store.gc(deleteUntagged: true)

        let deletedManifests = [garbage.untaggedImage, garbage.untaggedIndex]
        let blobSizes = Dictionary((garbage.untaggedImage.blobs + garbage.deletedImage.blobs).map { ($0.digest.description, $0.size) },
                                   uniquingKeysWith: { a, _ in a })
        let expectedBlobBytes = garbage.garbageBlobs.reduce(0) { $0 + (blobSizes[$1] ?? 3004) }
        let uploadBytes = 3005
        let expectedBytes = Int64(expectedBlobBytes + deletedManifests.reduce(0) { $0 + $1.payload.count } + uploadBytes)

        let row = try #require(try await store.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM gc_runs WHERE id = ?", arguments: [first.runID]).map { row in
                RunRow(status: row["status"], dryRun: row["dry_run"], deleteUntagged: row["delete_untagged"], trigger: row["trigger"],
                       manifests: row["manifests_deleted"], blobs: row["blobs_deleted"], uploads: row["uploads_deleted"],
                       bytes: row["bytes_reclaimed"], finished: row["finished_at"] != nil, duration: row["duration_ms"],
                       error: row["error"])
            }
        })
        #expect(row == RunRow(status: "succeeded", dryRun: false, deleteUntagged: true, trigger: "cli", manifests: 2,
                              blobs: garbage.garbageBlobs.count, uploads: 1, bytes: expectedBytes, finished: true,
                              duration: row.duration, error: nil))
        #expect(first.bytesReclaimed == expectedBytes)

        let audited = try await store.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT actor, action, repository, digest, size FROM audit_events WHERE gc_run_id = ? ORDER BY id
                """, arguments: [first.runID]).map { "\($0["actor"] as String) \($0["action"] as String) \($0["repository"] as String? ?? "-") \($0["digest"] as String? ?? "-") \($0["size"] as Int64)" }
        }
        var expected = Set(deletedManifests.map { "gc gc.manifest.delete garbage/app \($0.digest) \($0.payload.count)" })
        for digest in garbage.garbageBlobs { expected.insert("gc gc.blob.delete - \(digest) \(blobSizes[digest] ?? 3004)") }
        expected.insert("gc gc.upload.delete garbage/app - \(uploadBytes)")
        #expect(Set(audited) == expected)
        #expect(audited.count == expected.count, "one audit row per deletion")

        let summaries = try await store.pool.read { db in
            try Row.fetchAll(db, sql: Self.operatorQuery).map { row in
                RunSummary(run: row["run"], reportedBytes: row["reported_bytes"], reportedDeletions: row["reported_deletions"],
                           auditedDeletions: row["audited_deletions"], auditedBytes: row["audited_bytes"],
                           what: Set((row["what"] as String).split(separator: "\n").map(String.init)))
            }
        }
        #expect(summaries.map(\.run) == [first.runID, second.runID], "dry runs are not deletions")
        let firstSummary = try #require(summaries.first)
        #expect(firstSummary.reportedBytes == expectedBytes && firstSummary.auditedBytes == expectedBytes)
        #expect(firstSummary.reportedDeletions == firstSummary.auditedDeletions)
        #expect(firstSummary.what == Set(expected.map { line in
            let parts = line.split(separator: " ")
            return "\(parts[1]) \(parts[3] == "-" ? parts[2] : parts[3])"
        }))
        #expect(summaries.last == RunSummary(run: second.runID, reportedBytes: 0, reportedDeletions: 0, auditedDeletions: 0,
                                             auditedBytes: 0, what: []), "a run with nothing to do")
    }

    /// A run that fails is recorded as failed with its error, and releases the lease.
    @Test func failedRunIsRecordedWithItsError() async throws {
        let store = try GCStore()
        let garbage = try await store.plantGarbage()
        try FileManager.default.removeItem(atPath: store.paths.trashDirectory)
        #expect(FileManager.default.createFile(atPath: store.paths.trashDirectory, contents: Data("not a directory".utf8)))

        await #expect(throws: (any Error).self) { try await store.gc(deleteUntagged: true) }

        let failed = try await store.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT status, error FROM gc_runs ORDER BY id DESC LIMIT 1").map {
                ($0["status"] as String, $0["error"] as String?)
            }
        }
        #expect(failed?.0 == "failed" && failed?.1?.isEmpty == false, "\(String(describing: failed))")
        #expect(try await store.count("SELECT count(*) FROM gc_lease") == 0, "a failed run keeps the lease")
        try await store.pull(garbage.liveImage, tag: "v1")
        let report = try await ConsistencyReport.check(directory: store.directory, pool: store.pool)
        #expect(report.isConsistent, "\(report)")
    }
}

struct RunRow: Sendable, Equatable {
    var status: String
    var dryRun: Bool
    var deleteUntagged: Bool
    var trigger: String
    var manifests: Int
    var blobs: Int
    var uploads: Int
    var bytes: Int64
    var finished: Bool
    var duration: Int64?
    var error: String?
}
