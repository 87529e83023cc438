import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension RegistryCommand {
    /// ArgumentParser's own entry point, except that `registry check` exits 2 (not
    /// ArgumentParser's 64) on bad arguments: its exit status is a contract for
    /// scripts, 0 clean, 1 problems found, 2 the check could not run.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if CommandLine.arguments.dropFirst().first == "check", exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}
