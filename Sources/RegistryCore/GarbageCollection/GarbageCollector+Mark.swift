import Foundation
import GRDB

/// What a run will delete, decided in one read snapshot.
struct GCPlan: Sendable {
    struct Manifest: Sendable, Hashable {
        var id: Int64
        var repository: String
        var digest: String
        var size: Int64
        var entry: GCReport.ManifestEntry { .init(repository: repository, digest: digest, size: size) }
    }

    var manifests: [Manifest] = []
    var blobs: [GCReport.BlobEntry] = []
    var uploads: [String] = []
    var uploadBytes: Int64 = 0
    /// Manifest candidates found live and not young: they leave the queue (a later
    /// change that could make them garbage queues them again).
    var liveManifests: [Int64] = []
    /// Blob candidates found referenced: they leave the queue likewise.
    var referencedBlobs: [String] = []
    /// Queue entries whose row is gone.
    var staleManifestCandidates: [Int64] = []
}

extension GarbageCollector {
    /// SQL for "now minus the delay": rows created after it are roots.
    static func cutoffSQL(_ delay: Duration) -> String {
        Registry.nowSQL(minus: delay)
    }

    /// The live subset of `ids`: manifests whose ancestry (parent indexes, and the
    /// subject a referrer points at, transitively) holds a tagged manifest or one
    /// younger than the delay. One recursive query.
    static func liveManifests(_ db: Database, among ids: [Int64], delay: Duration) throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        let sql = """
            WITH RECURSIVE up(origin, id) AS (
                SELECT value, value FROM json_each(?)
                UNION
                SELECT up.origin, c.parent_id FROM up JOIN manifest_children c ON c.child_id = up.id
                UNION
                SELECT up.origin, s.id FROM up
                    JOIN manifests m ON m.id = up.id
                    JOIN manifests s ON s.repository_id = m.repository_id AND s.digest = m.subject_digest
            )
            SELECT DISTINCT up.origin FROM up JOIN manifests x ON x.id = up.id
            WHERE x.pushed_at > \(cutoffSQL(delay)) OR EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = x.id)
            """
        return Set(try Int64.fetchAll(db, sql: sql, arguments: [jsonArray(ids)]))
    }

    static func jsonArray(_ values: [Int64]) -> String {
        "[" + values.map(String.init).joined(separator: ",") + "]"
    }

    /// A JSON array of strings for `json_each`. Digests and repository names need no
    /// escaping; anything else goes through the encoder.
    static func jsonArray(_ values: [String]) -> String {
        let plain = values.allSatisfy { value in
            value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x22 && $0 != 0x5c && $0 < 0x80 }
        }
        guard plain else {
            return String(decoding: (try? JSONEncoder().encode(values)) ?? Data("[]".utf8), as: UTF8.self)
        }
        var json = "["
        json.reserveCapacity(values.reduce(2) { $0 + $1.utf8.count + 3 })
        for (index, value) in values.enumerated() {
            if index > 0 { json += "," }
            json += "\""
            json += value
            json += "\""
        }
        return json + "]"
    }

    /// Decides everything the run deletes, in one read snapshot.
    func mark(_ options: GCOptions) async throws -> GCPlan {
        try await registry.read { db in
            var plan = GCPlan()
            var garbage: [Int64: GCPlan.Manifest] = [:]
            if options.deleteUntagged {
                let queued = try Row.fetchAll(db, sql: """
                    SELECT c.manifest_id, m.id AS present, m.pushed_at <= \(Self.cutoffSQL(options.delay)) AS old
                    FROM gc_manifest_candidates c LEFT JOIN manifests m ON m.id = c.manifest_id
                    """)
                plan.staleManifestCandidates = queued.filter { ($0["present"] as Int64?) == nil }.map { $0["manifest_id"] }
                var frontier = queued.filter { ($0["present"] as Int64?) != nil }.map { $0["manifest_id"] as Int64 }
                let old = Set(queued.filter { ($0["old"] as Bool?) == true }.map { $0["manifest_id"] as Int64 })
                var firstRound = true
                while !frontier.isEmpty {
                    let live = try Self.liveManifests(db, among: frontier, delay: options.delay)
                    if firstRound {
                        plan.liveManifests = frontier.filter { live.contains($0) && old.contains($0) }
                        firstRound = false
                    }
                    let dead = frontier.filter { !live.contains($0) && garbage[$0] == nil }
                    for manifest in try Self.describeManifests(db, dead) { garbage[manifest.id] = manifest }
                    // What only the dead reached may be dead too: their children and referrers.
                    frontier = try Int64.fetchAll(db, sql: """
                        SELECT c.child_id FROM manifest_children c WHERE c.parent_id IN (SELECT value FROM json_each(?1))
                        UNION
                        SELECT r.id FROM manifests d JOIN manifests r
                            ON r.repository_id = d.repository_id AND r.subject_digest = d.digest
                        WHERE d.id IN (SELECT value FROM json_each(?1))
                        """, arguments: [Self.jsonArray(dead)]).filter { garbage[$0] == nil }
                }
                plan.manifests = garbage.values.sorted { ($0.repository, $0.digest) < ($1.repository, $1.digest) }
            }
            try Self.markBlobs(db, options: options, garbage: Set(garbage.keys), plan: &plan)
            let idle = try Row.fetchAll(db, sql: """
                SELECT id, size FROM uploads WHERE updated_at < \(Registry.nowSQL(minus: options.uploadTimeout))
                ORDER BY id
                """)
            plan.uploads = idle.map { $0["id"] }
            plan.uploadBytes = idle.reduce(0) { $0 + ($1["size"] as Int64) }
            return plan
        }
    }

    private static func describeManifests(_ db: Database, _ ids: [Int64]) throws -> [GCPlan.Manifest] {
        guard !ids.isEmpty else { return [] }
        return try Row.fetchAll(db, sql: """
            SELECT m.id, r.name, m.digest, m.size FROM manifests m JOIN repositories r ON r.id = m.repository_id
            WHERE m.id IN (SELECT value FROM json_each(?))
            """, arguments: [jsonArray(ids)]).map {
                GCPlan.Manifest(id: $0["id"], repository: $0["name"], digest: $0["digest"], size: $0["size"])
            }
    }

    /// Blob candidates (queued, or referenced by garbage manifests) that nothing
    /// else references and whose lease has run out.
    private static func markBlobs(_ db: Database, options: GCOptions, garbage: Set<Int64>, plan: inout GCPlan) throws {
        let garbageJSON = jsonArray(Array(garbage))
        let rows = try Row.fetchAll(db, sql: """
            WITH candidates(digest) AS (
                SELECT digest FROM gc_blob_candidates
                UNION
                SELECT digest FROM manifest_blobs WHERE manifest_id IN (SELECT value FROM json_each(?1))
            )
            SELECT b.digest, b.size,
                   b.protected_until < strftime('%Y-%m-%d %H:%M:%f', 'now') AS expired,
                   EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.digest = b.digest
                           AND mb.manifest_id NOT IN (SELECT value FROM json_each(?1))) AS referenced
            FROM candidates c JOIN blobs b ON b.digest = c.digest
            ORDER BY b.digest
            """, arguments: [garbageJSON])
        for row in rows {
            let referenced: Bool = row["referenced"]
            if referenced {
                plan.referencedBlobs.append(row["digest"])
            } else if row["expired"] as Bool {
                plan.blobs.append(GCReport.BlobEntry(digest: row["digest"], size: row["size"]))
            }
        }
    }
}
