import GRDB
import GRDBSQLite

/// Names (tags, repositories) in one UTF-8 buffer with the end of each. A tags list of
/// 10,000 names is read from SQLite and written out as JSON without a `String` per name:
/// profiled, a `String.fetchAll` spent more time in per-row generic metadata lookups and
/// string creation than SQLite spent finding the rows.
public struct NameList: RandomAccessCollection, ExpressibleByArrayLiteral, Sendable, Equatable {
    /// Every name's bytes, back to back.
    public private(set) var utf8: [UInt8] = []
    private var ends: [Int] = []

    public init() {}

    public init(_ names: some Sequence<String>) {
        for name in names { append(name) }
    }

    public init(arrayLiteral names: String...) {
        self.init(names)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { ends.count }

    public subscript(position: Int) -> String {
        String(decoding: utf8[bytes(position)], as: UTF8.self)
    }

    /// Where the name at `position` is in `utf8`.
    public func bytes(_ position: Int) -> Range<Int> {
        (position == 0 ? 0 : ends[position - 1])..<ends[position]
    }

    mutating func append(_ name: String) {
        utf8.append(contentsOf: name.utf8)
        ends.append(utf8.count)
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        utf8.append(contentsOf: bytes)
        ends.append(utf8.count)
    }

    mutating func removeLast() {
        ends.removeLast()
        utf8.removeLast(utf8.count - (ends.last ?? 0))
    }

    /// The text of the first column of every row `statement` returns.
    static func fetch(_ statement: Statement, arguments: StatementArguments) throws -> NameList {
        var list = NameList()
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        let sqlite = statement.sqliteStatement
        while try rows.next() != nil {
            guard let text = sqlite3_column_text(sqlite, 0) else { continue }
            list.append(UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(sqlite, 0))))
        }
        return list
    }
}
