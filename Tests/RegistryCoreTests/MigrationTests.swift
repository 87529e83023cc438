import Foundation
import GRDB
import Migrations
@testable import RegistryCore
import Testing

@Suite("Migrations")
struct MigrationTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("every .sql file in migrations/ is embedded, in file-name order")
    func everyFileRegistered() throws {
        let folder = Self.packageRoot.appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".sql") }.map { String($0.dropLast(4)) }.sorted()
        #expect(!files.isEmpty)
        #expect(Migrations.all.map(\.identifier) == files)
        for migration in Migrations.all {
            let onDisk = try String(contentsOf: folder.appendingPathComponent(migration.identifier + ".sql"), encoding: .utf8)
            #expect(migration.sql == onDisk, "embedded \(migration.identifier) differs from the file")
        }
    }

    @Test("migrating twice applies each migration once and records it")
    func idempotent() throws {
        let directory = try TemporaryDirectory()
        let database = try RegistryDatabase(path: directory.path + "/registry.db")
        #expect(try database.migrate() == Migrations.all.map(\.identifier))
        #expect(try database.migrate().isEmpty)
        #expect(try database.pendingMigrations().isEmpty)
        let recorded = try database.pool.read { db in try String.fetchAll(db, sql: "SELECT version FROM schema_migrations ORDER BY version") }
        #expect(recorded == Migrations.all.map(\.identifier))
        let journal = try database.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }
}

/// A directory under the system's temporary folder, removed when the value goes.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "stowage-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
