import Foundation
import GRDB
import OCI
import Testing

/// Everything an operator could look at in a store: every table's rows and every
/// file's path and size. Two snapshots are equal when nothing observable changed.
struct StoreContents: Equatable, CustomStringConvertible {
    var tables: [String: [String]]
    var files: [String: Int64]

    /// `excluding` names tables a run may legitimately write (its own gc_runs row, the lease).
    static func take(directory: String, pool: DatabasePool, excluding: Set<String> = []) async throws -> StoreContents {
        let tables = try await pool.read { db -> [String: [String]] in
            let names = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name
                """)
            var tables: [String: [String]] = [:]
            for name in names where !excluding.contains(name) {
                tables[name] = try Row.fetchAll(db, sql: "SELECT * FROM \"\(name)\"").map { row in
                    row.columnNames.map { "\($0)=\(row[$0] as DatabaseValue)" }.joined(separator: "|")
                }.sorted()
            }
            return tables
        }
        return StoreContents(tables: tables, files: fileTree(directory))
    }

    /// Regular files under `directory` with their sizes, the database files excepted
    /// (their content is the tables).
    static func fileTree(_ directory: String) -> [String: Int64] {
        var files: [String: Int64] = [:]
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return files }
        while let relative = walker.nextObject() as? String {
            if relative.hasPrefix("registry.db") { continue }
            let attributes = try? FileManager.default.attributesOfItem(atPath: "\(directory)/\(relative)")
            guard attributes?[.type] as? FileAttributeType == .typeRegular else { continue }
            files[relative] = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
        }
        return files
    }

    var description: String {
        tables.keys.sorted().map { "\($0): \(tables[$0]!.count) rows" }.joined(separator: ", ") + "; \(files.count) files"
    }

    /// What differs, for a failure message an operator can act on.
    func difference(from other: StoreContents) -> String {
        var lines: [String] = []
        for name in Set(tables.keys).union(other.tables.keys).sorted() where tables[name] != other.tables[name] {
            let mine = Set(tables[name] ?? []), theirs = Set(other.tables[name] ?? [])
            lines.append("table \(name): -\(mine.subtracting(theirs).sorted()) +\(theirs.subtracting(mine).sorted())")
        }
        for path in Set(files.keys).union(other.files.keys).sorted() where files[path] != other.files[path] {
            lines.append("file \(path): \(files[path].map(String.init) ?? "absent") -> \(other.files[path].map(String.init) ?? "absent")")
        }
        return lines.joined(separator: "\n")
    }
}

/// The invariants `registry check` stands for, as SQL and file checks: SQLite is
/// sound, foreign keys hold, every blob row and every referenced blob has its file,
/// nothing is left in trash/.
struct ConsistencyReport: Sendable, CustomStringConvertible {
    var integrity: [String]
    var foreignKeyViolations: Int
    var rowsWithoutFile: [String]
    var referencedWithoutFile: [String]
    var referencedWithoutRow: Int
    var trashFiles: [String]
    var journalRows: Int

    var isConsistent: Bool {
        integrity == ["ok"] && foreignKeyViolations == 0 && rowsWithoutFile.isEmpty && referencedWithoutFile.isEmpty
            && referencedWithoutRow == 0
    }

    var description: String {
        "integrity_check=\(integrity) foreign_key_check=\(foreignKeyViolations) rows without file=\(rowsWithoutFile.prefix(5)) "
            + "referenced without file=\(referencedWithoutFile.prefix(5)) referenced without row=\(referencedWithoutRow) "
            + "trash=\(trashFiles.prefix(5)) journal=\(journalRows)"
    }

    static func check(directory: String, pool: DatabasePool) async throws -> ConsistencyReport {
        let facts = try await pool.read { db in
            (
                integrity: try String.fetchAll(db, sql: "PRAGMA integrity_check"),
                foreignKeys: try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count,
                blobs: try String.fetchAll(db, sql: "SELECT digest FROM blobs"),
                referenced: try String.fetchAll(db, sql: "SELECT DISTINCT digest FROM manifest_blobs"),
                referencedWithoutRow: try Int.fetchOne(db, sql: """
                    SELECT count(*) FROM manifest_blobs mb WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.digest = mb.digest)
                    """) ?? -1,
                journal: try Int.fetchOne(db, sql: "SELECT count(*) FROM blob_deletions") ?? -1
            )
        }
        let hasFile = { (digest: String) -> Bool in
            guard let parsed = Digest(digest) else { return false }
            return FileManager.default.fileExists(atPath: "\(directory)/blobs/\(parsed.algorithm.rawValue)/\(parsed.encoded.prefix(2))/\(parsed.encoded)")
        }
        return ConsistencyReport(
            integrity: facts.integrity, foreignKeyViolations: facts.foreignKeys,
            rowsWithoutFile: facts.blobs.filter { !hasFile($0) }, referencedWithoutFile: facts.referenced.filter { !hasFile($0) },
            referencedWithoutRow: facts.referencedWithoutRow,
            trashFiles: (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/trash")) ?? [],
            journalRows: facts.journal)
    }
}

extension GCStore {
    func snapshot() async throws -> StoreContents {
        try await StoreContents.take(directory: directory, pool: pool, excluding: ["gc_runs", "gc_lease"])
    }

    /// After a completed run: consistent, and no deletion left half done.
    func expectConsistent(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let report = try await ConsistencyReport.check(directory: directory, pool: pool)
        #expect(report.isConsistent, "\(report)", sourceLocation: sourceLocation)
        #expect(report.trashFiles.isEmpty && report.journalRows == 0, "\(report)", sourceLocation: sourceLocation)
    }
}
