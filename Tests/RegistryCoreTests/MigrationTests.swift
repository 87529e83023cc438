import Foundation
import GRDB
import Migrations
@testable import RegistryCore
import Testing
import TestSupport

@Suite("Migrations")
struct MigrationTests {
    @Test("every .sql file in migrations/ is embedded, in file-name order")
    func everyFileRegistered() throws {
        let folder = packageRoot.appendingPathComponent("migrations")
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

    @Test("a database upgraded by a newer Stowage is refused, naming the migrations this binary lacks; serve does not start")
    func newerSchemaRefused() async throws {
        let directory = try TemporaryDirectory()
        var configuration = RegistryConfiguration()
        configuration.dataDirectory = directory.path
        configuration.syncWrites = false
        _ = try Registry.open(configuration: configuration)
        let path = StoragePaths(root: directory.path).database
        let queue = try DatabaseQueue(path: path)
        try await queue.write { try $0.execute(sql: "INSERT INTO schema_migrations(version) VALUES ('9999_from_a_newer_version')") }
        try queue.close()

        #expect(throws: SchemaError.newerThanBinary(path: path, unknown: ["9999_from_a_newer_version"])) {
            try Registry.open(configuration: configuration)
        }
        let serve = try await ChildProcess.run(try builtExecutable("registry"), ["serve", "--data-dir", directory.path, "--listen", "127.0.0.1:0"])
        let message = serve.stderr
        #expect(serve.status != 0)
        #expect(message.contains("9999_from_a_newer_version") && message.contains("newer version"), "\(message)")
        // Nothing was written: the record of the newer migration is still there, alone.
        let versions = try await DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "SELECT version FROM schema_migrations") }
        #expect(versions == Migrations.all.map(\.identifier) + ["9999_from_a_newer_version"])
    }
}
