import Foundation
@testable import RegistryCore
import RegistryCLI
import Testing

/// The HTTP metric handles are made once per (route, method, status), not per request,
/// and the cache stays bounded when clients send arbitrary methods.
@Suite("Request metrics handle cache")
struct RequestMetricsCacheTests {
    @Test func handlesAreReusedAndTheNumbersStayRight() {
        let metrics = RegistryMetrics(backend: PrometheusBackend())
        for _ in 0..<100 {
            metrics.recordRequest(route: "blob", method: "GET", status: 200, duration: .milliseconds(3), bytesIn: 0, bytesOut: 10)
        }
        metrics.recordRequest(route: "upload", method: "PATCH", status: 202, duration: .milliseconds(3), bytesIn: 5, bytesOut: 0)
        #expect(metrics.cachedRequestHandles == 2)
        let page = String(decoding: metrics.backend.exposition(), as: UTF8.self)
        #expect(page.contains(#"stowage_http_requests_total{route="blob",method="GET",status="200"} 100"#), "\(page)")
        #expect(page.contains(#"stowage_http_sent_bytes_total{route="blob"} 1000"#), "\(page)")
        #expect(page.contains(#"stowage_http_received_bytes_total{route="upload"} 5"#), "\(page)")
        #expect(!page.contains(#"stowage_http_received_bytes_total{route="blob"}"#), "no zero series for bytes never received")
    }

    @Test func theCacheIsBounded() {
        let metrics = RegistryMetrics(backend: PrometheusBackend())
        let count = RegistryMetrics.maxCachedRequestHandles + 50
        for i in 0..<count {
            metrics.recordRequest(route: "other", method: "M\(i)", status: 405, duration: .zero, bytesIn: 0, bytesOut: 0)
        }
        #expect(metrics.cachedRequestHandles == RegistryMetrics.maxCachedRequestHandles)
        let page = String(decoding: metrics.backend.exposition(), as: UTF8.self)
        #expect(page.contains(#"stowage_http_requests_total{route="other",method="M\#(count - 1)",status="405"} 1"#))
    }
}
