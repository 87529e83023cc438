import Foundation
import RegistryCLI
@testable import RegistryCore
import Testing
import TestSupport

/// Every query in docs/audit.md runs against `AuditFixture`'s store and must print
/// exactly the output the page shows (timestamps aside). Run with
/// `UPDATE_AUDIT_DOCS=1` to rewrite the page's outputs after changing a query.
@Suite("docs/audit.md queries")
struct AuditDocumentationTests {
    static let page = packageRoot.appendingPathComponent("docs/audit.md")

    struct Example {
        var sql: String
        var output: String
        /// Range of the output block's body in the page.
        var outputRange: Range<String.Index>
    }

    static func examples(in text: String) -> [Example] {
        var examples: [Example] = []
        var cursor = text.startIndex
        while let sqlStart = text.range(of: "```sql\n", range: cursor..<text.endIndex),
              let sqlEnd = text.range(of: "\n```", range: sqlStart.upperBound..<text.endIndex),
              let outStart = text.range(of: "```text", range: sqlEnd.upperBound..<text.endIndex),
              let outEnd = text.range(of: "\n```", range: outStart.upperBound..<text.endIndex) {
            // The body lies between the newline after ```text and the newline before ```.
            let bodyStart = text.index(after: outStart.upperBound)
            let body = bodyStart <= outEnd.lowerBound ? bodyStart..<outEnd.lowerBound : outStart.upperBound..<outStart.upperBound
            examples.append(Example(
                sql: String(text[sqlStart.upperBound..<sqlEnd.lowerBound]),
                output: String(text[body]),
                outputRange: body))
            cursor = outEnd.upperBound
        }
        return examples
    }

    /// Timestamps differ from run to run; everything else is deterministic.
    static func normalized(_ output: String) -> String {
        output.replacingOccurrences(of: #"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"#, with: "YYYY-MM-DD HH:MM:SS.SSS", options: .regularExpression)
    }

    @Test("each documented query runs and prints what the page shows")
    func queries() async throws {
        let fixture = try await AuditFixture()
        let database = fixture.registry.paths.database
        var text = try String(contentsOf: Self.page, encoding: .utf8)
        let examples = Self.examples(in: text)
        #expect(examples.count >= 12, "docs/audit.md should answer at least a dozen questions")
        var rendered: [(Range<String.Index>, String)] = []
        for example in examples {
            let result = try QueryResult.run(example.sql, databasePath: database)
            #expect(!result.rows.isEmpty, "query returns nothing on the fixture:\n\(example.sql)")
            let output = QueryResultFormatter.render(result, as: .table)
            rendered.append((example.outputRange, output))
            #expect(Self.normalized(output) == Self.normalized(example.output), "output differs for:\n\(example.sql)\n\(output)")
        }
        if ProcessInfo.processInfo.environment["UPDATE_AUDIT_DOCS"] == "1" {
            for (range, output) in rendered.reversed() {
                text.replaceSubrange(range, with: range.isEmpty ? "\n" + output : output)
            }
            try text.write(to: Self.page, atomically: true, encoding: .utf8)
        }
    }

    @Test("the audit trail answers who pushed, who deleted, and what GC reclaimed")
    func answers() async throws {
        let fixture = try await AuditFixture()
        let database = fixture.registry.paths.database
        let pushedBy = try QueryResult.run(
            "SELECT pushed_by FROM image_inventory WHERE repository = 'team/app' AND tag = 'latest'", databasePath: database)
        #expect(pushedBy.rows == [["bob"]])
        let deletedBy = try QueryResult.run(
            "SELECT actor, client_address FROM tag_history WHERE tag = 'old' AND change = 'deleted'", databasePath: database)
        #expect(deletedBy.rows == [["alice", "10.0.0.11"]])
        let pulls = try QueryResult.run(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'manifest.pull' AND actor = 'ci-deploy'", databasePath: database)
        #expect(pulls.rows == [["3"]])
        // The deleted image's config and unique layer (90 + 800 bytes) came back; the manifest too.
        let reclaimed = try QueryResult.run(
            "SELECT blobs_deleted, manifests_deleted FROM gc_runs WHERE dry_run = 0", databasePath: database)
        #expect(reclaimed.rows == [["2", "0"]])
    }

    @Test("registry sql refuses to write")
    func readOnly() async throws {
        let fixture = try await AuditFixture()
        #expect(throws: (any Error).self) {
            try QueryResult.run("DELETE FROM tags", databasePath: fixture.registry.paths.database)
        }
        let tags = try QueryResult.run("SELECT COUNT(*) FROM tags", databasePath: fixture.registry.paths.database)
        #expect(tags.rows == [["4"]])
    }
}
