import Foundation
import GRDB

/// The result of an operator's read-only SQL query, as text cells.
public struct QueryResult: Sendable, Equatable {
    public var columns: [String]
    /// nil is SQL NULL.
    public var rows: [[String?]]

    /// Runs one read-only statement on a read-only connection. Anything that would
    /// write is refused before it runs (and the connection could not write anyway).
    public static func run(_ sql: String, databasePath: String) throws -> QueryResult {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        let queue = try DatabaseQueue(path: databasePath, configuration: configuration)
        return try queue.read { db in
            let statement = try db.makeStatement(sql: sql)
            guard statement.isReadonly else { throw QueryError.notReadOnly }
            var rows: [[String?]] = []
            let cursor = try Row.fetchCursor(statement)
            while let row = try cursor.next() {
                rows.append(row.databaseValues.map(text))
            }
            return QueryResult(columns: statement.columnNames, rows: rows)
        }
    }

    static func text(_ value: DatabaseValue) -> String? {
        switch value.storage {
        case .null: nil
        case .int64(let v): String(v)
        case .double(let v): String(v)
        case .string(let v): v
        case .blob(let data):
            // Manifest payloads are JSON: show them as text.
            String(data: data, encoding: .utf8) ?? "x'" + data.map { String(format: "%02x", $0) }.joined() + "'"
        }
    }
}

public enum QueryError: Error, CustomStringConvertible {
    case notReadOnly

    public var description: String {
        "only read-only statements (SELECT, WITH … SELECT, read-only PRAGMA) can run here: the database is opened read-only"
    }
}
