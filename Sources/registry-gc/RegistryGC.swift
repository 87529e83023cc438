import ArgumentParser
import RegistryCLI

@main
struct RegistryGC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry-gc",
        abstract: "Mark-and-sweep garbage collection of a Stowage store; safe while the server takes pushes.",
        discussion: """
            Deletes blobs no manifest references once their lease (--delay) has run out, upload sessions idle \
            past --upload-timeout, and with --delete-untagged the manifests no tag reaches. Every run is a row in \
            gc_runs; every deletion is in audit_events (actor 'gc').
            Exit codes: 0 done; 1 error; 75 another collector holds the lease (the message names it).
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var gc: GCCommandOptions

    func run() async throws {
        try await GCCommandRunner.run(configuration: store.configuration(), flags: gc)
    }
}
