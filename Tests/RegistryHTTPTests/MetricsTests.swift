import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RegistryCore
import RegistryHTTP
import Synchronization
import Testing
import TestSupport

/// `/metrics` as Prometheus scrapes it: the text exposition, request counts by a
/// fixed route label, bytes, store gauges, GC and SQLite lock waits.
@Suite struct MetricsTests {
    @Test func requestsAreCountedByRouteMethodAndStatus() async throws {
        try await withRegistry { client in
            let image = try await client.pushImage("metrics/app", layers: 2)
            let layer = image.layers[0]
            let pulled = try await client.get("/v2/metrics/app/blobs/\(layer.digest)")
            #expect(pulled.status == .ok)
            _ = try await client.get("/v2/metrics/app/manifests/missing")
            _ = try await client.get("/no/such/thing")

            let page = try await scrape(client)
            #expect(page.value("stowage_http_requests_total", ["route": "blob", "method": "GET", "status": "200"]) == 1)
            #expect(page.value("stowage_http_requests_total", ["route": "manifest", "method": "PUT", "status": "201"]) == 1)
            #expect(page.value("stowage_http_requests_total", ["route": "upload", "method": "POST", "status": "201"]) == 3)
            #expect(page.value("stowage_http_requests_total", ["route": "manifest", "method": "GET", "status": "404"]) == 1)
            #expect(page.value("stowage_http_requests_total", ["route": "other", "method": "GET", "status": "404"]) == 1)
            #expect(page.value("stowage_http_request_duration_seconds_count", ["route": "blob", "method": "GET"]) == 1)
            // Pushed: config + 2 layers + manifest; pulled: one layer.
            let pushedBytes = image.config.size + image.layers.map(\.size).reduce(0, +)
            #expect(page.value("stowage_http_received_bytes_total", ["route": "upload"]) == Double(pushedBytes))
            #expect(page.value("stowage_http_received_bytes_total", ["route": "manifest"]) == Double(image.manifest.count))
            #expect(page.value("stowage_http_sent_bytes_total", ["route": "blob"]) == Double(layer.size))
            // Each of the three blob uploads held the write lock once, briefly.
            #expect(page.value("stowage_upload_commit_lock_seconds_count") == 3)
            #expect(page.value("stowage_upload_commit_lock_seconds_sum") ?? 1 < 1)
            // Labels never carry a repository name or a digest.
            #expect(!page.text.contains("metrics/app"))
            #expect(!page.text.contains("sha256:"))
        }
    }

    @Test func storeGaugesCountBlobsBytesAndOpenUploads() async throws {
        try await withRegistry { client in
            let first = randomBytes(1000), second = randomBytes(2345)
            try await client.pushBlob("gauges/a", first)
            try await client.pushBlob("gauges/b", second)
            try await client.pushBlob("gauges/c", first)  // same blob again: still one file
            _ = try await client.startUpload("gauges/a")
            let page = try await scrape(client)
            #expect(page.value("stowage_blobs_stored") == 2)
            #expect(page.value("stowage_blob_bytes_stored") == 3345)
            #expect(page.value("stowage_uploads_in_progress") == 1)
            #expect(page.text.contains("# TYPE stowage_blobs_stored gauge"))
        }
    }

    @Test func garbageCollectionRunsAreExported() async throws {
        try await withLiveRegistry(configure: { $0.gcDelay = .zero }) { registry, client in
            let bytes = randomBytes(4096)
            try await client.pushBlob("gc/metrics", bytes)
            // Unreferenced and past its (zero) lease: the run deletes it.
            try await Task.sleep(for: .milliseconds(20))
            let report = try await GarbageCollector(registry: registry).run(GCOptions(delay: .zero))
            #expect(report.blobs.count == 1)
            let page = try await scrape(client)
            #expect(page.value("stowage_gc_runs_total") == 1)
            #expect(page.value("stowage_gc_blobs_deleted_total") == 1)
            #expect(page.value("stowage_gc_reclaimed_bytes_total") ?? 0 >= 4096)
            #expect(page.value("stowage_gc_duration_seconds_count") == 1)
        }
    }

    @Test func sqliteLockWaitsAreCounted() async throws {
        try await withLiveRegistry { registry, client in
            let databasePath = StoragePaths(root: registry.configuration.dataDirectory).database
            #expect(try await scrape(client).value("stowage_sqlite_busy_waits_total") ?? 0 == 0)
            // Another connection (as `registry-gc` would be) holds the write lock...
            let other = try DatabaseQueue(path: databasePath)
            let locked = Atomic<Bool>(false), release = Atomic<Bool>(false)
            // On a thread of its own: a sleeping cooperative thread would stall the server.
            let holder = Task {
                try await onThread { try other.inDatabase { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    locked.store(true, ordering: .sequentiallyConsistent)
                    while !release.load(ordering: .sequentiallyConsistent) { Thread.sleep(forTimeInterval: 0.01) }
                    try db.execute(sql: "COMMIT")
                } }
            }
            while !locked.load(ordering: .sequentiallyConsistent) { try await Task.sleep(for: .milliseconds(10)) }
            // ...while a push needs it: the push waits (and the wait is counted) until it is released.
            let push = Task { try await client.pushBlob("busy/blob", randomBytes(100)) }
            var waited = false
            for _ in 0..<500 where !waited {
                // Read in-process: the test client's one connection is busy with the push.
                waited = MetricsPage(text: String(decoding: registry.metrics.backend.exposition(), as: UTF8.self)).value("stowage_sqlite_busy_waits_total") ?? 0 >= 1
                if !waited { try await Task.sleep(for: .milliseconds(20)) }
            }
            release.store(true, ordering: .sequentiallyConsistent)
            try await holder.value
            _ = try await push.value
            try other.close()
            #expect(waited, "the push never waited for the lock")
            let page = try await scrape(client)
            #expect(page.value("stowage_sqlite_busy_waits_total") ?? 0 >= 1)
            #expect(page.value("stowage_sqlite_busy_timeouts_total") ?? 0 == 0)
        }
    }

    @Test func disabledMetricsAreNotServed() async throws {
        try await withRegistry(configure: { $0.metrics.enabled = false }) { client in
            let response = try await client.get("/metrics")
            expectError(response, .notFound, "NOT_FOUND")
        }
    }

    @Test func aSeparateMetricsListenerTakesMetricsOffTheMainOne() async throws {
        try await withRegistry(configure: { $0.metrics.listen = "127.0.0.1:0" }) { client in
            expectError(try await client.get("/metrics"), .notFound, "NOT_FOUND")
        }
    }

    @Test func customPath() async throws {
        try await withRegistry(configure: { $0.metrics.path = "/internal/prometheus" }) { client in
            let response = try await client.get("/internal/prometheus")
            #expect(response.status == .ok)
            #expect(response.text.contains("stowage_"))
        }
    }

    @Test func metricsNeedNoRegistryCredentials() async throws {
        try await withAuthRegistry(configure: { $0.auth.mode = .htpasswd }) { auth in
            let base = try await auth.client.get("/v2/")
            #expect(base.status == .unauthorized)
            let page = try await auth.client.get("/metrics")
            #expect(page.status == .ok)
            #expect(page.text.contains("stowage_http_requests_total{route=\"base\",method=\"GET\",status=\"401\"} 1"))
        }
    }
}

// MARK: Reading the exposition

/// A scraped page: `value(name, labels)` finds the sample with exactly those labels.
struct MetricsPage {
    let text: String

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            let series = line[..<space]
            let sampleName: Substring, labelText: Substring
            if let brace = series.firstIndex(of: "{") {
                sampleName = series[..<brace]
                labelText = series[series.index(after: brace)..<series.index(before: series.endIndex)]
            } else {
                sampleName = series
                labelText = ""
            }
            guard sampleName == name else { continue }
            var found: [String: String] = [:]
            for pair in labelText.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                found[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            found.removeValue(forKey: "le")
            if found == labels { return Double(line[line.index(after: space)...]) }
        }
        return nil
    }
}

func scrape(_ client: RegistryClient, path: String = "/metrics", sourceLocation: SourceLocation = #_sourceLocation) async throws -> MetricsPage {
    let response = try await client.get(path)
    #expect(response.status == .ok, sourceLocation: sourceLocation)
    #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true, sourceLocation: sourceLocation)
    return MetricsPage(text: response.text)
}
