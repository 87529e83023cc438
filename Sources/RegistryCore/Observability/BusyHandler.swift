import Foundation
import GRDB

/// SQLite's own busy-timeout schedule (sqlite3.c `sqliteDefaultBusyCallback`), as a
/// GRDB busy callback that also reports each wait: when another connection (the GC,
/// `registry-gc`, another request) holds the lock, the callback sleeps 1, 2, 5, 10, …
/// up to 100 ms between tries until the timeout, exactly as `busy_timeout` does, and
/// counts the waits and the timeouts for `/metrics`.
struct BusyHandler: Sendable {
    let timeout: Duration
    let onWait: @Sendable () -> Void
    let onTimeout: @Sendable () -> Void

    private static let delays = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100]

    /// Milliseconds slept before try `tries` (what SQLite's `prior` is).
    static func slept(beforeTry tries: Int) -> Int {
        if tries < delays.count { return delays[..<tries].reduce(0, +) }
        return delays.reduce(0, +) + (tries - delays.count) * delays.last!
    }

    var callback: Database.BusyCallback {
        let timeoutMilliseconds = Int(timeout.seconds * 1000)
        let onWait = self.onWait, onTimeout = self.onTimeout
        return { tries in
            if tries == 0 { onWait() }
            var delay = tries < Self.delays.count ? Self.delays[tries] : Self.delays.last!
            let prior = Self.slept(beforeTry: tries)
            if prior + delay > timeoutMilliseconds {
                delay = timeoutMilliseconds - prior
                if delay <= 0 {
                    onTimeout()
                    return false
                }
            }
            usleep(useconds_t(delay * 1000))
            return true
        }
    }
}
