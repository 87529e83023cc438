import Foundation
@testable import RegistryCore
import Testing
import TestSupport

/// Writes `yaml` to a file and loads it with `environment`.
private func load(_ yaml: String?, environment: [String: String] = [:]) throws -> RegistryConfiguration {
    let directory = try TemporaryDirectory()
    var file: String?
    if let yaml {
        file = directory.path + "/config.yml"
        try yaml.write(toFile: file!, atomically: true, encoding: .utf8)
    }
    return try RegistryConfiguration.load(file: file, environment: environment)
}

/// The message an operator reads for the configuration error `body` throws.
private func message(_ body: () throws -> Any) -> String {
    do {
        _ = try body()
        return "(no error)"
    } catch {
        return "\(error)"
    }
}

@Suite("Configuration validation")
struct ConfigurationValidationTests {
    @Test("an unknown top-level key is refused, naming it and the allowed keys")
    func unknownTopLevelKey() {
        let text = message { try load("listen: 127.0.0.1:5000\nlisten_addr: 0.0.0.0:80\n") }
        #expect(text.hasPrefix("unknown key 'listen_addr'; expected one of: "), "\(text)")
        for key in ["listen", "data_dir", "storage", "gc", "audit", "auth", "maintenance"] {
            #expect(text.contains(key), "\(text)")
        }
    }

    @Test("an unknown nested key is refused with its dotted path")
    func unknownNestedKey() {
        #expect(throws: ConfigurationError.unknownKey("gc.intervall", expected: ["enabled", "interval", "delay", "delete_untagged", "upload_timeout"])) {
            try load("gc:\n  intervall: 10m\n")
        }
        let text = message { try load("gc:\n  intervall: 10m\n") }
        #expect(text == "unknown key 'gc.intervall'; expected one of: enabled, interval, delay, delete_untagged, upload_timeout")
        #expect(message { try load("auth:\n  token:\n    lifetme: 5m\n") }.hasPrefix("unknown key 'auth.token.lifetme'"))
        #expect(message { try load("auth:\n  access:\n    - subjects: [a]\n      repositories: [b]\n      actions: [pull]\n      action: [push]\n") }
            .hasPrefix("unknown key 'auth.access[0].action'"))
        #expect(message { try load("storage:\n  max_blob_sise: 1GiB\n") }.hasPrefix("unknown key 'storage.max_blob_sise'"))
        // Sections added in their own files are checked the same way, with no list to maintain.
        #expect(message { try load("metrics:\n  listn: 127.0.0.1:9090\n") } == "unknown key 'metrics.listn'; expected one of: enabled, listen, path")
        #expect(message { try load("tls:\n  cert: /c.pem\n") }.hasPrefix("unknown key 'tls.cert'; expected one of: certificate, key"))
    }

    @Test("free-key maps (auth.groups) accept any name")
    func freeKeys() throws {
        let c = try load("auth:\n  groups:\n    ci: [jenkins]\n    anything_goes: [x]\n")
        #expect(c.auth.groups == ["ci": ["jenkins"], "anything_goes": ["x"]])
    }

    @Test("a value of the wrong type names its key", arguments: [
        ("storage:\n  delete_enabled: sometimes\n", "storage.delete_enabled", "true or false"),
        ("storage:\n  max_manifest_size: big\n", "storage.max_manifest_size", "an integer"),
        ("gc:\n  enabled: [yes]\n", "gc.enabled", "true or false"),
        ("gc: every hour\n", "gc", "a mapping"),
        ("auth:\n  failed_login_limit: ten\n", "auth.failed_login_limit", "an integer"),
        ("auth:\n  access:\n    - subjects: admin\n      repositories: [x]\n      actions: [pull]\n", "auth.access[0].subjects", "a list"),
    ])
    func wrongType(_ yaml: String, _ key: String, _ expected: String) {
        let text = message { try load(yaml) }
        #expect(text.hasPrefix("configuration key '\(key)': expected \(expected)"), "\(text)")
    }

    @Test("a missing required key of a list item names it")
    func missingRequired() {
        let text = message { try load("auth:\n  access:\n    - subjects: [a]\n      actions: [pull]\n") }
        #expect(text.hasPrefix("configuration key 'auth.access[0].repositories'"), "\(text)")
    }

    @Test("bad values name their key", arguments: [
        ("gc:\n  interval: often\n", "gc.interval"),
        ("storage:\n  max_blob_size: huge\n", "storage.max_blob_size"),
        ("storage:\n  max_blob_size: -5\n", "storage.max_blob_size"),
        ("storage:\n  min_free_space: 120%\n", "storage.min_free_space"),
        ("storage:\n  max_concurrent_uploads: -1\n", "storage.max_concurrent_uploads"),
        ("storage:\n  max_manifest_size: -1\n", "storage.max_manifest_size"),
        ("listen: 127.0.0.1:70000\n", "listen"),
        ("maintenance:\n  read_only: maybe\n", "maintenance.read_only"),
    ])
    func badValue(_ yaml: String, _ key: String) {
        let text = message { try load(yaml) }
        #expect(text.hasPrefix("configuration key '\(key)': expected "), "\(text)")
    }

    @Test("a file that is not YAML, or not a mapping, is refused")
    func notYAML() {
        #expect(message { try load("listen: [unclosed\n") }.contains("is not valid YAML"))
        #expect(message { try load("- a\n- b\n") }.contains("expected a mapping"))
    }

    @Test("an empty file means the defaults")
    func emptyFile() throws {
        #expect(try load("") == RegistryConfiguration())
        #expect(try load("# only a comment\n") == RegistryConfiguration())
    }

    @Test("sizes", arguments: [
        ("512MiB", Int64(512 << 20)), ("1GiB", Int64(1 << 30)), ("100MB", Int64(100_000_000)), ("4096", Int64(4096)),
        ("64k", Int64(64 << 10)), ("1.5GiB", Int64(3 << 29)), ("0", Int64(0)), ("10 MiB", Int64(10 << 20)),
    ])
    func sizes(_ text: String, _ bytes: Int64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test("sizes that are not sizes", arguments: ["big", "-1", "1.5.2MB", "MiB", ""])
    func badSizes(_ text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test("limits and maintenance keys are read")
    func limitKeys() throws {
        let c = try load("""
            storage:
              max_blob_size: 1GiB
              max_concurrent_uploads: 8
              min_free_space: 5%
            maintenance:
              read_only: true
            """)
        #expect(c.limits.maxBlobSize == 1 << 30 && c.limits.maxConcurrentUploads == 8)
        #expect(c.limits.minFreeSpace == .percent(5) && c.readOnly)
        #expect(try load("storage:\n  min_free_space: 2GiB\n").limits.minFreeSpace == .bytes(2 << 30))
        #expect(RegistryConfiguration().limits.minFreeSpace == .bytes(512 << 20))
    }
}

@Suite("Configuration from the environment")
struct ConfigurationEnvironmentTests {
    @Test("STOWAGE_<SECTION>_<KEY> overrides the file, which overrides the defaults")
    func precedence() throws {
        let yaml = "listen: 127.0.0.1:6000\ngc:\n  interval: 30m\n  delay: 2h\n"
        let fromFile = try load(yaml)
        #expect(fromFile.port == 6000 && fromFile.gcInterval == .seconds(1800) && fromFile.gcDelay == .seconds(7200))
        let c = try load(yaml, environment: [
            "STOWAGE_GC_INTERVAL": "10m", "STOWAGE_LISTEN": "127.0.0.1:7000", "STOWAGE_DATA_DIR": "/srv/stowage",
            "PATH": "/usr/bin", "STOWAGEX": "not ours",
        ])
        #expect(c.gcInterval == .seconds(600), "the environment wins over the file")
        #expect(c.gcDelay == .seconds(7200), "keys the environment does not name keep the file's value")
        #expect(c.host == "127.0.0.1" && c.port == 7000)
        #expect(c.dataDirectory == "/srv/stowage")
        #expect(c.uploadTimeout == RegistryConfiguration().uploadTimeout, "keys nobody names keep the default")
    }

    @Test("variables reach sections the file does not have, and nested ones, without any file")
    func withoutFile() throws {
        let c = try load(nil, environment: [
            "STOWAGE_STORAGE_DELETE_ENABLED": "false", "STOWAGE_AUTH_TOKEN_LIFETIME": "10m",
            "STOWAGE_MAINTENANCE_READ_ONLY": "true", "STOWAGE_STORAGE_MAX_BLOB_SIZE": "1GiB",
            "STOWAGE_AUTH_TOKEN_VERIFICATION_KEYS": "[/etc/a.pem, /etc/b.pem]",
            "STOWAGE_AUTH_GROUPS": "{ci: [jenkins, buildbot]}",
        ])
        #expect(!c.deleteEnabled && c.readOnly && c.limits.maxBlobSize == 1 << 30)
        #expect(c.auth.tokenLifetime == .seconds(600))
        #expect(c.auth.tokenVerificationKeys == ["/etc/a.pem", "/etc/b.pem"])
        #expect(c.auth.groups == ["ci": ["jenkins", "buildbot"]])
    }

    @Test("variables reach a section the file leaves empty (only comments under it)")
    func emptySection() throws {
        let c = try load("gc:\n  # nothing here\nstorage:\n", environment: ["STOWAGE_GC_DELAY": "5m", "STOWAGE_STORAGE_SYNC_WRITES": "false"])
        #expect(c.gcDelay == .seconds(300) && !c.syncWrites)
    }

    @Test("an unknown STOWAGE_ variable is refused, naming it and its section's variables")
    func unknownVariable() {
        let text = message { try load(nil, environment: ["STOWAGE_GC_INTERVALL": "10m"]) }
        #expect(text.hasPrefix("unknown environment variable STOWAGE_GC_INTERVALL; expected one of: "), "\(text)")
        #expect(text.contains("STOWAGE_GC_INTERVAL,") || text.contains("STOWAGE_GC_INTERVAL\n") || text.hasSuffix("STOWAGE_GC_INTERVAL"), "\(text)")
        #expect(!text.contains("STOWAGE_LISTEN"), "only the gc section's names are suggested: \(text)")
        #expect(message { try load("gc:\n  enabled: true\n", environment: ["STOWAGE_LISTN": ":5000"]) }
            .hasPrefix("unknown environment variable STOWAGE_LISTN"))
    }

    @Test("a bad value from a variable names the key and the variable")
    func badVariableValue() {
        let text = message { try load(nil, environment: ["STOWAGE_GC_ENABLED": "sometimes"]) }
        #expect(text.hasPrefix("configuration key 'gc.enabled (STOWAGE_GC_ENABLED)': expected true or false"), "\(text)")
        #expect(message { try load(nil, environment: ["STOWAGE_GC_INTERVAL": "often"]) }.hasPrefix("configuration key 'gc.interval (STOWAGE_GC_INTERVAL)': expected a duration"))
    }

    @Test("the effective configuration shows the file with the overrides applied, and loads back to the same configuration")
    func effective() throws {
        let directory = try TemporaryDirectory()
        let file = directory.path + "/c.yml"
        try """
            gc:
              interval: 30m
            auth:
              mode: htpasswd
              htpasswd: /etc/stowage/htpasswd
              groups: {ci: [jenkins]}
              access:
                - {subjects: [group:ci], repositories: ["builds/**"], actions: [push, pull]}
            storage:
              max_blob_size: 1500000
              min_free_space: 5%
            audit:
              retention: 90d
            tls:
              certificate: /c.pem
              key: /k.pem
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let configuration = try RegistryConfiguration.load(file: file, environment: ["STOWAGE_GC_DELAY": "5m", "STOWAGE_LISTEN": ":6000"])
        let yaml = try configuration.effectiveYAML()
        let reloaded = directory.path + "/effective.yml"
        try yaml.write(toFile: reloaded, atomically: true, encoding: .utf8)
        let c = try RegistryConfiguration.load(file: reloaded)
        #expect(c.gcInterval == .seconds(1800) && c.gcDelay == .seconds(300) && c.port == 6000, "\(yaml)")
        #expect(c == configuration, "\(yaml)")
        let defaults = directory.path + "/defaults.yml"
        try RegistryConfiguration().effectiveYAML().write(toFile: defaults, atomically: true, encoding: .utf8)
        #expect(try RegistryConfiguration.load(file: defaults) == RegistryConfiguration())
    }

    @Test("durations are written as the configuration takes them", arguments: [
        (Duration.seconds(3600), "1h"), (.seconds(600), "10m"), (.seconds(90), "90s"), (.milliseconds(1500), "1500ms"),
        (.zero, "0s"), (.seconds(86400), "1d"), (.seconds(36 * 3600), "36h"),
    ])
    func durationFormat(_ duration: Duration, _ text: String) {
        #expect(DurationParser.format(duration) == text)
        #expect(DurationParser.parse(text) == duration)
    }
}

@Suite("docs/configuration.md")
struct ConfigurationDocumentationTests {
    static let page = packageRoot.appendingPathComponent("docs/configuration.md").path

    /// The `STOWAGE_*` names in the page's key table.
    static func documentedVariables() throws -> Set<String> {
        let text = try String(contentsOfFile: page, encoding: .utf8)
        let names = text.split(separator: "\n").filter { $0.hasPrefix("| `") }.compactMap { row -> String? in
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { return nil }
            return cells[2].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
        }
        return Set(names)
    }

    @Test("every configuration key has its variable in the table, and the example configuration is valid")
    func everyKeyDocumented() throws {
        let keys = Set(RegistryConfiguration.keys.map(\.variable))
        let documented = try Self.documentedVariables()
        #expect(keys.count > 30)
        #expect(keys.subtracting(documented).isEmpty, "not in docs/configuration.md: \(keys.subtracting(documented).sorted())")
        let example = packageRoot.appendingPathComponent("deploy/config.example.yml").path
        _ = try RegistryConfiguration.load(file: example)
    }

    @Test("every variable in the table is one the loader accepts")
    func everyVariableExists() throws {
        let documented = try Self.documentedVariables()
        #expect(documented.count > 30)
        for name in documented.sorted() {
            do {
                _ = try RegistryConfiguration.load(file: nil, environment: [name: "1"])
            } catch ConfigurationError.unknownEnvironmentVariable {
                Issue.record("docs/configuration.md names \(name), which the loader does not know")
            } catch {
                // A value of the wrong type for this key: the name itself was accepted.
            }
        }
    }
}
