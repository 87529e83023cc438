import Foundation
@testable import RegistryCore
import Testing
import TestSupport

@Suite("Configuration")
struct ConfigurationTests {
    @Test("the example config in deploy/ parses and states the defaults")
    func exampleIsDefaults() throws {
        let example = packageRoot.appendingPathComponent("deploy/config.example.yml").path
        let loaded = try RegistryConfiguration.load(file: example)
        #expect(loaded == RegistryConfiguration())
    }

    @Test("values from a file override the defaults")
    func overrides() throws {
        let directory = try TemporaryDirectory()
        let file = directory.path + "/c.yml"
        try """
            listen: 127.0.0.1:6000
            data_dir: /srv/registry
            storage:
              delete_enabled: false
            gc:
              interval: 10m
              delay: 30s
              delete_untagged: true
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let c = try RegistryConfiguration.load(file: file)
        #expect(c.host == "127.0.0.1" && c.port == 6000)
        #expect(c.dataDirectory == "/srv/registry")
        #expect(!c.deleteEnabled)
        #expect(c.gcInterval == .seconds(600) && c.gcDelay == .seconds(30) && c.gcDeleteUntagged)
    }

    @Test("a bad duration names its key")
    func badDuration() throws {
        let directory = try TemporaryDirectory()
        let file = directory.path + "/c.yml"
        try "gc:\n  delay: soon\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.invalid(key: "gc.delay", expected: "a duration such as 30s, 10m, 1h", got: "soon")) {
            try RegistryConfiguration.load(file: file)
        }
    }

    @Test("durations", arguments: [("500ms", 0.5), ("30s", 30.0), ("10m", 600.0), ("1h", 3600.0), ("2d", 172800.0), ("90", 90.0)])
    func durations(_ text: String, _ seconds: Double) {
        #expect(DurationParser.parse(text)?.seconds == seconds)
    }

    @Test("listen addresses")
    func listen() throws {
        var c = RegistryConfiguration()
        try c.set("listen", to: ":7000", flag: "--listen")
        #expect(c.host == "0.0.0.0" && c.port == 7000)
        try c.set("listen", to: "[::1]:7001", flag: "--listen")
        #expect(c.host == "::1" && c.port == 7001)
        #expect(throws: ConfigurationError.invalid(key: "--listen", expected: "HOST:PORT", got: "nohost")) { try c.set("listen", to: "nohost", flag: "--listen") }
        #expect(throws: ConfigurationError.self) { try c.set("listen", to: "h:99999", flag: "--listen") }
    }
}
