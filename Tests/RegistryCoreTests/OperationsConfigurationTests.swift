import Foundation
@testable import RegistryCore
import Testing
import TestSupport

/// The tls, metrics, log and shutdown_timeout keys.
@Suite("Operations configuration")
struct OperationsConfigurationTests {
    private func load(_ yaml: String) throws -> RegistryConfiguration {
        let directory = try TemporaryDirectory()
        let file = directory.path + "/c.yml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        return try RegistryConfiguration.load(file: file)
    }

    @Test("every operations key is read")
    func allKeys() throws {
        let c = try load("""
            tls:
              certificate: /etc/stowage/cert.pem
              key: /etc/stowage/key.pem
            metrics:
              enabled: true
              listen: 127.0.0.1:9090
              path: /internal/metrics
            log:
              level: debug
              format: json
              access: false
            shutdown_timeout: 45s
            """)
        #expect(c.tls == TLSFiles(certificate: "/etc/stowage/cert.pem", key: "/etc/stowage/key.pem"))
        #expect(c.tls.isEnabled)
        #expect(c.metrics.listen == "127.0.0.1:9090" && c.metrics.path == "/internal/metrics" && c.metrics.enabled)
        #expect(c.log.level == "debug" && c.log.format == .json)
        #expect(!c.log.access)
        #expect(c.shutdownTimeout == .seconds(45))
    }

    @Test("defaults: plain HTTP, metrics on the main listener, text logs at info, 30 s to drain")
    func defaults() {
        let c = RegistryConfiguration()
        #expect(!c.tls.isEnabled)
        #expect(c.metrics.enabled && c.metrics.listen.isEmpty && c.metrics.path == "/metrics")
        #expect(c.log.level == "info" && c.log.format == .text)
        #expect(c.log.access)
        #expect(c.shutdownTimeout == .seconds(30))
    }

    @Test("STOWAGE_LOG_ACCESS turns the access log off")
    func accessFromEnvironment() throws {
        let c = try RegistryConfiguration.load(file: nil, environment: ["STOWAGE_LOG_ACCESS": "false"])
        #expect(!c.log.access && c.log.level == "info")
    }

    @Test("bad values name their key", arguments: [
        ("log:\n  format: xml\n", "log.format"),
        ("log:\n  level: loud\n", "log.level"),
        ("metrics:\n  listen: nowhere\n", "metrics.listen"),
        ("metrics:\n  path: /v2/metrics\n", "metrics.path"),
        ("metrics:\n  path: metrics\n", "metrics.path"),
        ("shutdown_timeout: later\n", "shutdown_timeout"),
        ("tls:\n  certificate: /c.pem\n", "tls.key"),
        ("tls:\n  key: /k.pem\n", "tls.certificate"),
    ])
    func badValues(yaml: String, key: String) throws {
        do {
            _ = try load(yaml)
            Issue.record("\(yaml) was accepted")
        } catch {
            #expect("\(error)".contains(key), "\(error)")
        }
    }
}
