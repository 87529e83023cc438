import CoreMetrics
import Foundation
import Metrics
import Synchronization

/// The metrics of one registry, recorded through swift-metrics handles made by its
/// backend's factory (the executable chooses the backend). `registry serve` also
/// bootstraps the process-wide `MetricsSystem` with that factory, so metrics of the
/// libraries it uses land on the same page.
///
/// Names follow Prometheus conventions: `_total` for counters, `_seconds` and `_bytes`
/// for units; label values come from small fixed sets (never a raw path or a name).
public final class RegistryMetrics: Sendable {
    public let backend: any MetricsBackend
    var factory: any MetricsFactory { backend.factory }

    let busyWaits: CoreMetrics.Counter
    let busyTimeouts: CoreMetrics.Counter
    private let blobsStored: CoreMetrics.Gauge
    private let blobBytesStored: CoreMetrics.Gauge
    private let uploadsInProgress: CoreMetrics.Gauge
    /// How long each upload's commit held the database write lock (BEGIN to COMMIT).
    let uploadCommitLockHold: Metrics.Timer

    /// The store gauges come from a query, run at most this often (on scrape).
    let storeRefreshInterval: Duration
    private let lastStoreRefresh = Mutex<ContinuousClock.Instant?>(nil)

    static let requestDurationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60), .seconds(300),
    ]

    /// Histogram buckets per metric, for backends that need them (Prometheus).
    public static let durationBuckets: [String: [Duration]] = [
        "stowage_http_request_duration_seconds": requestDurationBuckets,
        "stowage_upload_commit_lock_seconds": [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        ],
        "stowage_gc_duration_seconds": [.seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(1800)],
    ]

    public init(backend: any MetricsBackend = DiscardedMetrics(), storeRefreshInterval: Duration = .seconds(15)) {
        self.backend = backend
        let factory = backend.factory
        self.storeRefreshInterval = storeRefreshInterval
        busyWaits = CoreMetrics.Counter(label: "stowage_sqlite_busy_waits_total", factory: factory)
        busyTimeouts = CoreMetrics.Counter(label: "stowage_sqlite_busy_timeouts_total", factory: factory)
        blobsStored = CoreMetrics.Gauge(label: "stowage_blobs_stored", factory: factory)
        blobBytesStored = CoreMetrics.Gauge(label: "stowage_blob_bytes_stored", factory: factory)
        uploadsInProgress = CoreMetrics.Gauge(label: "stowage_uploads_in_progress", factory: factory)
        uploadCommitLockHold = Metrics.Timer(label: "stowage_upload_commit_lock_seconds", factory: factory)
    }

    // MARK: HTTP

    /// One finished request: `route` is one of `RouteLabel`'s fixed values.
    public func recordRequest(route: String, method: String, status: Int, duration: Duration, bytesIn: Int, bytesOut: Int) {
        let handles = requestHandles(route: route, method: method, status: status)
        handles.requests.increment()
        handles.duration.record(duration: duration)
        if bytesIn > 0 { handles.received().increment(by: bytesIn) }
        if bytesOut > 0 { handles.sent().increment(by: bytesOut) }
    }

    /// The handles of one (route, method, status), made once: making a swift-metrics
    /// handle takes the factory's lock and allocates, which is too much per request.
    /// Route and status come from small sets; the method is the client's, so the cache
    /// stops growing at `maxCachedRequestHandles` (later combinations get fresh handles).
    private func requestHandles(route: String, method: String, status: Int) -> RequestHandles {
        let key = RequestKey(route: route, method: method, status: status)
        if let cached = requestHandleCache.withLock({ $0[key] }) { return cached }
        let handles = RequestHandles(key, factory: factory)
        return requestHandleCache.withLock { cache in
            if let cached = cache[key] { return cached }
            if cache.count < Self.maxCachedRequestHandles { cache[key] = handles }
            return handles
        }
    }

    static let maxCachedRequestHandles = 1024
    /// How many (route, method, status) handle sets are cached (tests).
    var cachedRequestHandles: Int { requestHandleCache.withLock { $0.count } }
    private let requestHandleCache = Mutex<[RequestKey: RequestHandles]>([:])

    private struct RequestKey: Hashable, Sendable {
        var route: String
        var method: String
        var status: Int
    }

    /// The byte counters are made on first use, so a route that never moved a body
    /// byte shows no zero series (as before the cache).
    private final class RequestHandles: Sendable {
        let requests: CoreMetrics.Counter
        let duration: Metrics.Timer
        private let route: String
        private let factory: any MetricsFactory
        private typealias ByteCounters = (received: CoreMetrics.Counter?, sent: CoreMetrics.Counter?)
        private let byteCounters = Mutex<ByteCounters>((nil, nil))

        init(_ key: RequestKey, factory: any MetricsFactory) {
            requests = CoreMetrics.Counter(label: "stowage_http_requests_total",
                                           dimensions: [("route", key.route), ("method", key.method), ("status", String(key.status))],
                                           factory: factory)
            duration = Metrics.Timer(label: "stowage_http_request_duration_seconds",
                                     dimensions: [("route", key.route), ("method", key.method)], factory: factory)
            route = key.route
            self.factory = factory
        }

        func received() -> CoreMetrics.Counter { byteCounter(\.received, label: "stowage_http_received_bytes_total") }
        func sent() -> CoreMetrics.Counter { byteCounter(\.sent, label: "stowage_http_sent_bytes_total") }

        private func byteCounter(_ slot: WritableKeyPath<ByteCounters, CoreMetrics.Counter?>, label: String) -> CoreMetrics.Counter {
            byteCounters.withLock { counters in
                if let counter = counters[keyPath: slot] { return counter }
                let counter = CoreMetrics.Counter(label: label, dimensions: [("route", route)], factory: factory)
                counters[keyPath: slot] = counter
                return counter
            }
        }
    }

    // MARK: Exposition

    /// The backend's page, after refreshing the store gauges from `counts` if they are stale.
    func exposition(counts: () async throws -> StoreCounts) async -> [UInt8] {
        await refreshStoreGauges(counts: counts)
        return backend.exposition()
    }

    /// Counting the blobs walks the table, so it runs at most every `storeRefreshInterval`
    /// however often Prometheus scrapes; a failed query leaves the last values.
    func refreshStoreGauges(counts: () async throws -> StoreCounts) async {
        let now = ContinuousClock.now
        let due = lastStoreRefresh.withLock { last -> Bool in
            if let last, now - last < storeRefreshInterval { return false }
            last = now
            return true
        }
        guard due, let counts = try? await counts() else { return }
        blobsStored.record(counts.blobs)
        blobBytesStored.record(counts.bytes)
        uploadsInProgress.record(counts.uploads)
    }
}
