import Foundation
import Hummingbird
import RegistryCore
import Synchronization

/// `GET /healthz`: liveness, 200 whenever the process answers HTTP.
/// `GET /readyz`: readiness, 200 only when the database answers a read and the data
/// directory takes a durable write; otherwise 503 with a JSON body naming each check.
/// Neither is behind the registry's access control: probes carry no credentials.
///
/// The readiness probe opens a database connection and fsyncs a file, and anyone can
/// ask for it: a "ready" answer is reused for `cacheWindow`, and concurrent callers
/// share one probe, so requests cannot force more than about one fsync a second. A
/// failure is not reused (the next call probes again, so recovery shows at once). In
/// read-only (maintenance) mode the write probe is skipped: pulls still work, so the
/// registry is ready; the body reports `"storage":"skipped (read-only mode)"`.
struct HealthController: Sendable {
    let registry: Registry
    let cache: ReadinessCache

    init(registry: Registry, cacheWindow: Duration = .seconds(1)) {
        self.registry = registry
        cache = ReadinessCache(window: cacheWindow)
    }

    func register(on router: Router<RegistryRequestContext>) {
        router.get("/healthz") { _, _ in Self.json(.ok, #"{"status":"ok"}"#) }
        router.head("/healthz") { _, _ in Response(status: .ok) }
        router.get("/readyz") { _, _ in await self.readiness() }
    }

    func readiness() async -> Response {
        let result = await cache.result { await self.probe() }
        return Self.json(result.status, result.body)
    }

    /// One run of the checks.
    func probe() async -> Readiness {
        let readOnly = registry.configuration.readOnly
        var failures: [(check: String, error: String)] = []
        do { try await registry.checkDatabaseReadable() } catch {
            failures.append(("database", "\(error)"))
        }
        if !readOnly {
            do { try await registry.checkStorageWritable() } catch {
                failures.append(("storage", "\(error)"))
            }
        }
        let storage = readOnly ? "skipped (read-only mode)" : "ok"
        if failures.isEmpty {
            return Readiness(status: .ok, body: #"{"status":"ready","checks":{"database":"ok","storage":"\#(storage)"}}"#)
        }
        var checks: [String: String] = ["database": "ok", "storage": storage]
        for failure in failures { checks[failure.check] = failure.error }
        let body = ["status": "unavailable", "failed": failures.map(\.check).joined(separator: ","), "checks": checks] as [String: Any]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Readiness(status: .serviceUnavailable, body: String(decoding: data, as: UTF8.self))
    }

    struct Readiness: Sendable {
        var status: HTTPResponse.Status
        var body: String
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The last "ready" result for a short window, and the probe in flight, shared by
/// concurrent callers.
final class ReadinessCache: Sendable {
    let window: Duration
    private enum State {
        case empty
        case running(Task<HealthController.Readiness, Never>)
        case ready(HealthController.Readiness, at: ContinuousClock.Instant)
    }

    private let state = Mutex<State>(.empty)
    private let probeCount = Atomic<Int>(0)

    init(window: Duration) {
        self.window = window
    }

    /// How many probes have run (tests).
    var probes: Int { probeCount.load(ordering: .relaxed) }

    func result(_ probe: @escaping @Sendable () async -> HealthController.Readiness) async -> HealthController.Readiness {
        enum Next {
            case cached(HealthController.Readiness)
            case wait(Task<HealthController.Readiness, Never>)
        }
        let window = self.window
        let next = state.withLock { state -> Next in
            switch state {
            case .ready(let result, let at) where ContinuousClock.now - at < window:
                return .cached(result)
            case .running(let task):
                return .wait(task)
            default:
                probeCount.add(1, ordering: .relaxed)
                let task = Task { await probe() }
                state = .running(task)
                return .wait(task)
            }
        }
        switch next {
        case .cached(let result):
            return result
        case .wait(let task):
            let result = await task.value
            state.withLock { state in
                guard case .running(let current) = state, current == task else { return }
                state = result.status == .ok ? .ready(result, at: ContinuousClock.now) : .empty
            }
            return result
        }
    }
}
