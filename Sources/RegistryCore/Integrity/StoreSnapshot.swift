import GRDB

/// Everything `registry check` needs from the database, read in one `pool.read`
/// (a consistent snapshot while the server keeps writing).
struct StoreSnapshot: Sendable {
    struct DanglingReference: Sendable {
        var repository: String
        var manifest: String
        var target: String
    }

    struct ForeignKeyViolation: Sendable {
        var table: String
        var rowID: Int64?
        var parent: String
    }

    var integrity: [String] = []
    var foreignKeyViolations: [ForeignKeyViolation] = []
    var blobs: [String: Int64] = [:]
    var uploads: Set<String> = []
    /// manifest_blobs rows whose blob row is missing.
    var manifestsMissingBlobs: [DanglingReference] = []
    /// manifest_children rows whose child manifest is missing (target: the child's id).
    var indexesMissingChildren: [DanglingReference] = []
    /// tags whose manifest is missing (manifest: the tag, target: the manifest id).
    var tagsMissingManifests: [DanglingReference] = []
    var journal: [String] = []
    /// A collector holds a valid lease: trash files and journal rows are its work in progress.
    var collectorRunning = false
    var counts = CheckReport.Counts()

    /// Foreign keys the dedicated checks above report with a clearer message.
    static let explainedForeignKeys: Set<String> = ["manifest_blobs>blobs", "manifest_children>manifests", "tags>manifests"]

    static func read(_ db: Database) throws -> StoreSnapshot {
        var snapshot = StoreSnapshot()
        snapshot.integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
        snapshot.foreignKeyViolations = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").compactMap { row in
            let violation = ForeignKeyViolation(table: row[0], rowID: row[1], parent: row[2])
            return explainedForeignKeys.contains("\(violation.table)>\(violation.parent)") ? nil : violation
        }
        for row in try Row.fetchAll(db, sql: "SELECT digest, size FROM blobs") {
            snapshot.blobs[row["digest"]] = row["size"]
        }
        snapshot.uploads = Set(try String.fetchAll(db, sql: "SELECT id FROM uploads"))
        snapshot.manifestsMissingBlobs = try dangling(db, sql: """
            SELECT coalesce(r.name, '#' || m.repository_id), m.digest, mb.digest
            FROM manifest_blobs mb JOIN manifests m ON m.id = mb.manifest_id
            LEFT JOIN repositories r ON r.id = m.repository_id
            WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.digest = mb.digest)
            ORDER BY 1, 2, 3
            """)
        snapshot.indexesMissingChildren = try dangling(db, sql: """
            SELECT coalesce(r.name, '#' || m.repository_id), m.digest, 'manifest id ' || c.child_id
            FROM manifest_children c JOIN manifests m ON m.id = c.parent_id
            LEFT JOIN repositories r ON r.id = m.repository_id
            WHERE NOT EXISTS (SELECT 1 FROM manifests x WHERE x.id = c.child_id)
            ORDER BY 1, 2, 3
            """)
        snapshot.tagsMissingManifests = try dangling(db, sql: """
            SELECT coalesce(r.name, '#' || t.repository_id), t.name, 'manifest id ' || t.manifest_id
            FROM tags t LEFT JOIN repositories r ON r.id = t.repository_id
            WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.id = t.manifest_id)
            ORDER BY 1, 2
            """)
        snapshot.journal = try String.fetchAll(db, sql: "SELECT digest FROM blob_deletions ORDER BY digest")
        snapshot.collectorRunning = try Bool.fetchOne(db, sql: """
            SELECT EXISTS (SELECT 1 FROM gc_lease WHERE expires_at > strftime('%Y-%m-%d %H:%M:%f', 'now'))
            """) ?? false
        snapshot.counts.repositories = try Int.fetchOne(db, sql: "SELECT count(*) FROM repositories") ?? 0
        snapshot.counts.manifests = try Int.fetchOne(db, sql: "SELECT count(*) FROM manifests") ?? 0
        snapshot.counts.tags = try Int.fetchOne(db, sql: "SELECT count(*) FROM tags") ?? 0
        snapshot.counts.blobRows = snapshot.blobs.count
        snapshot.counts.blobBytes = snapshot.blobs.values.reduce(0, +)
        return snapshot
    }

    private static func dangling(_ db: Database, sql: String) throws -> [DanglingReference] {
        try Row.fetchAll(db, sql: sql).map { DanglingReference(repository: $0[0], manifest: $0[1], target: $0[2]) }
    }

    /// The manifests that reference each blob, directly or through an index that
    /// lists a manifest that does, with their tags: what a damaged blob breaks.
    static func affectedManifests(_ db: Database, blobs: [String]) throws -> [String: [CheckReport.AffectedManifest]] {
        guard !blobs.isEmpty else { return [:] }
        let rows = try Row.fetchAll(db, sql: """
            WITH RECURSIVE up(blob, id) AS (
                SELECT digest, manifest_id FROM manifest_blobs WHERE digest IN (SELECT value FROM json_each(?))
                UNION
                SELECT up.blob, c.parent_id FROM up JOIN manifest_children c ON c.child_id = up.id
            )
            SELECT up.blob, r.name, m.digest,
                   (SELECT group_concat(t.name, ' ') FROM (SELECT name FROM tags WHERE manifest_id = m.id ORDER BY name) t) AS tags
            FROM up JOIN manifests m ON m.id = up.id JOIN repositories r ON r.id = m.repository_id
            ORDER BY up.blob, r.name, m.digest
            """, arguments: [GarbageCollector.jsonArray(blobs)])
        var result: [String: [CheckReport.AffectedManifest]] = [:]
        for row in rows {
            let tags = (row["tags"] as String?).map { $0.split(separator: " ").map(String.init) } ?? []
            result[row["blob"], default: []].append(.init(repository: row["name"], digest: row["digest"], tags: tags))
        }
        return result
    }
}
