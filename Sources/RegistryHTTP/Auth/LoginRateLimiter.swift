import Synchronization

/// Failed logins per client address over a sliding window (one minute). Once an
/// address has `limit` failures in the window, every login from it is refused with
/// 429 — even one with the right password — until the oldest failure leaves the window.
final class LoginRateLimiter: Sendable {
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])
    let limit: Int
    let window: Duration

    init(limit: Int, window: Duration = .seconds(60)) {
        self.limit = limit
        self.window = window
    }

    /// How long the address must wait, or nil when it may try to log in.
    func retryAfter(_ address: String) -> Duration? {
        guard limit > 0 else { return nil }
        let now = ContinuousClock.now
        return failures.withLock { failures in
            guard var times = failures[address] else { return nil }
            times.removeAll { now - $0 >= window }
            failures[address] = times.isEmpty ? nil : times
            guard times.count >= limit else { return nil }
            return window - (now - times[times.count - limit])
        }
    }

    func recordFailure(_ address: String) {
        guard limit > 0 else { return }
        let now = ContinuousClock.now
        failures.withLock { failures in
            var times = failures[address, default: []]
            times.removeAll { now - $0 >= window }
            times.append(now)
            // Only the newest `limit` failures can matter.
            if times.count > limit { times.removeFirst(times.count - limit) }
            failures[address] = times
            if failures.count > 100_000 {
                failures = failures.filter { !$0.value.isEmpty && now - $0.value.last! < window }
            }
        }
    }
}
