import ArgumentParser
import RegistryCLI
import RegistryCore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create the database if needed and apply pending migrations.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let configuration = try store.configuration()
        let registry = try Registry(configuration: configuration)
        let applied = try registry.migrate()
        print(applied.isEmpty ? "database is up to date" : "applied: \(applied.joined(separator: ", "))")
    }
}
