import Foundation
import RegistryCore
import Testing
import TestSupport

/// Runs a built executable (`.build/debug/<name>`) to completion with extra environment
/// variables; `swift build` must have run first, as scripts/test does.
private func runBuilt(
    _ name: String, _ arguments: [String], environment: [String: String] = [:]
) async throws -> (status: Int32, stdout: String, stderr: String) {
    try await ChildProcess.run(try builtExecutable(name), arguments, environment: environment, timeout: .seconds(60))
}

@Suite("registry config check, and serve refusing a bad configuration")
struct ConfigurationCommandTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    func file(_ name: String, _ text: String) throws -> String {
        let path = directory.path + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a valid file: exit 0 and ok")
    func valid() async throws {
        let result = try await runBuilt("registry", ["config", "check", try file("good.yml", "gc:\n  interval: 10m\nstorage:\n  max_blob_size: 1GiB\n")])
        #expect(result.status == 0 && result.stdout == "ok\n", "\(result)")
        let example = packageRoot.appendingPathComponent("deploy/config.example.yml").path
        #expect(try await runBuilt("registry", ["config", "check", example]).status == 0)
    }

    @Test("an unknown key: non-zero exit and the message naming the key; serve refuses the same file with the same message")
    func unknownKey() async throws {
        let bad = try file("bad.yml", "gc:\n  intervall: 10m\n")
        let expected = "unknown key 'gc.intervall'; expected one of: enabled, interval, delay, delete_untagged, upload_timeout"
        let check = try await runBuilt("registry", ["config", "check", bad])
        #expect(check.status != 0 && check.stderr.contains(expected) && check.stdout.isEmpty, "\(check)")
        let serve = try await runBuilt("registry", ["serve", "--config", bad, "--listen", "127.0.0.1:0", "--data-dir", directory.path + "/data"])
        #expect(serve.status != 0 && serve.stderr.contains(expected), "\(serve)")
    }

    @Test("bad values and wrong types: non-zero exit naming the key", arguments: [
        ("storage:\n  delete_enabled: sometimes\n", "storage.delete_enabled"),
        ("gc:\n  delay: soon\n", "gc.delay"),
        ("storage:\n  min_free_space: lots\n", "storage.min_free_space"),
        ("listen: 127.0.0.1:99999\n", "listen"),
    ])
    func badValue(_ yaml: String, _ key: String) async throws {
        let bad = try file("bad.yml", yaml)
        let check = try await runBuilt("registry", ["config", "check", bad])
        #expect(check.status != 0 && check.stderr.contains("configuration key '\(key)'"), "\(check)")
        let serve = try await runBuilt("registry", ["serve", "--config", bad, "--data-dir", directory.path + "/data"])
        #expect(serve.status != 0 && serve.stderr.contains("configuration key '\(key)'"), "\(serve)")
    }

    @Test("environment variables are checked too, and --print shows their effect")
    func environment() async throws {
        let good = try file("good.yml", "gc:\n  interval: 30m\n")
        let unknown = try await runBuilt("registry", ["config", "check", good], environment: ["STOWAGE_GC_INTERVALL": "10m"])
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown environment variable STOWAGE_GC_INTERVALL"), "\(unknown)")
        let badValue = try await runBuilt("registry", ["config", "check", good], environment: ["STOWAGE_GC_ENABLED": "perhaps"])
        #expect(badValue.status != 0 && badValue.stderr.contains("gc.enabled (STOWAGE_GC_ENABLED)"), "\(badValue)")
        let printed = try await runBuilt("registry", ["config", "check", "--print", good],
                                   environment: ["STOWAGE_GC_INTERVAL": "10m", "STOWAGE_MAINTENANCE_READ_ONLY": "true"])
        #expect(printed.status == 0, "\(printed)")
        #expect(printed.stdout.contains("interval: 10m") && !printed.stdout.contains("30m"), "the environment wins: \(printed.stdout)")
        #expect(printed.stdout.contains("maintenance:\n  read_only: true"), "\(printed.stdout)")
        let serve = try await runBuilt("registry", ["serve", "--data-dir", directory.path + "/data"], environment: ["STOWAGE_LISTN": ":5000"])
        #expect(serve.status != 0 && serve.stderr.contains("unknown environment variable STOWAGE_LISTN"), "\(serve)")
    }

    @Test("--print shows every key, the defaults of keys not set included, and is accepted back as a configuration file")
    func printsEveryKey() async throws {
        let good = try file("partial.yml", "gc:\n  interval: 30m\n")
        let printed = try await runBuilt("registry", ["config", "check", "--print", good])
        #expect(printed.status == 0, "\(printed)")
        for line in ["listen: 0.0.0.0:5000", "delay: 1h", "interval: 30m", "upload_timeout: 1d", "failed_login_limit: 10",
                     "lifetime: 5m", "shutdown_timeout: 30s", "min_free_space: 512MiB", "retention: forever", "htpasswd: null"] {
            #expect(printed.stdout.contains(line), "\(line) is not in:\n\(printed.stdout)")
        }
        // Every key the documentation lists is printed (read by indentation: two spaces a level).
        var printedKeys: Set<String> = [], path: [String] = []
        for line in printed.stdout.split(separator: "\n") where !line.hasPrefix("#") {
            let text = line.drop { $0 == " " }
            guard !text.hasPrefix("-"), let colon = text.firstIndex(of: ":") else { continue }
            path = Array(path.prefix((line.count - text.count) / 2)) + [String(text[..<colon])]
            printedKeys.insert(ConfigurationKey.variableName(path.joined(separator: ".")))
        }
        let documented = try ConfigurationDocumentationTests.documentedVariables()
        #expect(documented.subtracting(printedKeys).isEmpty, "not printed: \(documented.subtracting(printedKeys).sorted())")
        // And it is a configuration file: checked, and loaded to the same configuration.
        let again = try file("printed.yml", printed.stdout)
        let check = try await runBuilt("registry", ["config", "check", again])
        #expect(check.status == 0 && check.stdout == "ok\n", "\(check)")
        #expect(try RegistryConfiguration.load(file: again) == RegistryConfiguration.load(file: good))
    }

    @Test("registry-gc refuses to delete in read-only mode (exit 75); a dry run works")
    func gcReadOnly() async throws {
        let config = try file("ro.yml", "maintenance:\n  read_only: true\n")
        let data = directory.path + "/data"
        let refused = try await runBuilt("registry-gc", ["--config", config, "--data-dir", data])
        #expect(refused.status == 75 && refused.stderr.contains("read-only mode"), "\(refused)")
        let fromEnvironment = try await runBuilt("registry-gc", ["--data-dir", data], environment: ["STOWAGE_MAINTENANCE_READ_ONLY": "true"])
        #expect(fromEnvironment.status == 75, "\(fromEnvironment)")
        let dryRun = try await runBuilt("registry-gc", ["--config", config, "--data-dir", data, "--dry-run"])
        #expect(dryRun.status == 0 && dryRun.stdout.contains("dry run"), "\(dryRun)")
    }
}
