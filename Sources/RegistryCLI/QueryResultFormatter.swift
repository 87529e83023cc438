import Foundation
import RegistryCore

/// Renders a query result as an aligned table, CSV (RFC 4180) or JSON.
public enum QueryResultFormatter {
    public enum Format: String, CaseIterable, Sendable {
        case table, csv, json
    }

    public static func render(_ result: QueryResult, as format: Format) -> String {
        switch format {
        case .table: table(result)
        case .csv: csv(result)
        case .json: json(result)
        }
    }

    static func table(_ result: QueryResult) -> String {
        let cells = result.rows.map { $0.map { ($0 ?? "NULL").replacingOccurrences(of: "\n", with: " ") } }
        var widths = result.columns.map(\.count)
        for row in cells {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ values: [String]) -> String {
            zip(values, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: " | ").trimmingCharacters(in: .whitespaces)
        }
        var lines = [line(result.columns), widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-")]
        lines += cells.map(line)
        lines.append("(\(result.rows.count) row\(result.rows.count == 1 ? "" : "s"))")
        return lines.joined(separator: "\n")
    }

    static func csv(_ result: QueryResult) -> String {
        func field(_ value: String?) -> String {
            guard let value else { return "" }
            guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return ([result.columns.map(field).joined(separator: ",")] + result.rows.map { $0.map(field).joined(separator: ",") })
            .joined(separator: "\n")
    }

    static func json(_ result: QueryResult) -> String {
        let objects = result.rows.map { row in
            Dictionary(uniqueKeysWithValues: zip(result.columns, row).map { ($0, $1.map { JSONValue.string($0) } ?? .null) })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(objects)) ?? Data("[]".utf8), as: UTF8.self)
    }

    enum JSONValue: Encodable {
        case string(String)
        case null

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let value):
                if let number = Int64(value) { try container.encode(number) } else { try container.encode(value) }
            case .null:
                try container.encodeNil()
            }
        }
    }
}
