import ArgumentParser

@main
struct RegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Stowage: a private OCI container registry on SQLite metadata and a disk blob store.",
        subcommands: [Serve.self, Migrate.self, GarbageCollect.self, SQL.self, Check.self, Backup.self, Healthcheck.self, ConfigCommand.self],
        defaultSubcommand: nil
    )
}
