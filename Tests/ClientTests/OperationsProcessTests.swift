import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// The operations settings as `registry serve` applies them: the separate metrics
/// listener and JSON logs on standard error.
extension ClientTests {
    @Suite struct OperationsProcessTests {
        @Test func metricsOnASeparateListenerOnly() throws {
            let metricsPort = try freeLoopbackPort()
            let fixture = try RegistryFixture("metrics-listen") { directory in
                let config = "\(directory.path)/config.yml"
                try "metrics:\n  listen: 127.0.0.1:\(metricsPort)\n".write(toFile: config, atomically: true, encoding: .utf8)
                return ["--config", config]
            }
            defer { fixture.tearDown() }
            let client = RegistryClient(port: fixture.port)
            #expect(try client.uploadBlob("listen/app", randomBytes(500)).status == 201)

            try waitFor("the metrics listener") {
                (try? HTTP.request("GET", port: metricsPort, path: "/healthz", timeout: 2))?.status == 200
            }
            let scraped = try HTTP.request("GET", port: metricsPort, path: "/metrics")
            #expect(scraped.status == 200)
            #expect(scraped.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(scraped.text.contains(#"stowage_http_requests_total{route="upload",method="POST",status="201"} 1"#), "\(scraped.text)")
            #expect(scraped.text.contains("stowage_blobs_stored 1"))
            #expect(try HTTP.request("GET", port: metricsPort, path: "/readyz").status == 200)
            #expect(try HTTP.request("GET", port: fixture.port, path: "/metrics").status == 404,
                    "with metrics.listen set, the main listener must not serve /metrics")
            #expect(try HTTP.request("GET", port: fixture.port, path: "/healthz").status == 200)
        }

        @Test func jsonLogsOnStandardError() throws {
            let fixture = try RegistryFixture("json-logs") { _ in ["--log-format", "json"] }
            defer { fixture.tearDown() }
            let response = try HTTP.request("GET", port: fixture.port, path: "/v2/_catalog", headers: [("X-Request-Id", "json-test-1")])
            #expect(response.status == 200)
            #expect(response.header("X-Request-Id") == "json-test-1")
            try fixture.registry.stop()

            let lines = fixture.registry.log().split(separator: "\n").map(String.init)
            #expect(lines.count >= 4, "\(lines)")
            var objects: [[String: Any]] = []
            for line in lines {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    Issue.record("not a JSON object: \(line)")
                    continue
                }
                #expect(object["timestamp"] is String && object["level"] is String && object["label"] is String && object["message"] is String)
                objects.append(object)
            }
            let access = try #require(objects.first { $0["request_id"] as? String == "json-test-1" })
            #expect(access["label"] as? String == "stowage.access")
            #expect(access["path"] as? String == "/v2/_catalog")
            #expect(access["status"] as? String == "200")
            #expect(objects.contains { ($0["message"] as? String)?.contains("checkpointed and closed") == true })
        }

        @Test func accessLogSwitchedOff() throws {
            let fixture = try RegistryFixture("no-access-log") { directory in
                let config = "\(directory.path)/config.yml"
                try "log:\n  access: false\n  format: json\n".write(toFile: config, atomically: true, encoding: .utf8)
                return ["--config", config]
            }
            defer { fixture.tearDown() }
            let response = try HTTP.request("GET", port: fixture.port, path: "/v2/_catalog", headers: [("X-Request-Id", "no-access-1")])
            #expect(response.status == 200)
            try fixture.registry.stop()

            let log = fixture.registry.log()
            #expect(!log.contains("stowage.access"), "\(log)")
            #expect(!log.contains("no-access-1"), "\(log)")
            #expect(log.contains("checkpointed and closed"), "other log lines are still written: \(log)")
        }
    }
}
