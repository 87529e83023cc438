import ArgumentParser
import Foundation
import RegistryCLI
import RegistryCore

/// `registry sql "SELECT …"`: audit queries without installing sqlite3 and without
/// any risk of writing (the database is opened read-only).
struct SQL: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a read-only SQL query against the registry's database and print the result.",
        discussion: """
            Views for the common questions: image_inventory, repository_storage, tag_history, actor_activity, \
            gc_history. See docs/audit.md for examples.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "Output format: table, csv or json.")
    var format: String = "table"

    @Argument(help: "One SQL statement, e.g. \"SELECT * FROM image_inventory\".")
    var query: String

    func run() async throws {
        guard let format = QueryResultFormatter.Format(rawValue: format) else {
            throw ValidationError("--format must be one of: table, csv, json")
        }
        let configuration = try store.configuration()
        let path = StoragePaths(root: configuration.dataDirectory).database
        do {
            print(QueryResultFormatter.render(try QueryResult.run(query, databasePath: path), as: format))
        } catch {
            FileHandle.standardError.write(Data("registry sql: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
