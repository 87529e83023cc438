import Foundation
import GRDB
import Synchronization

/// SQLite's own busy-timeout schedule (sqlite3.c `sqliteDefaultBusyCallback`), as a
/// GRDB busy callback that also reports each wait: when another connection (the GC,
/// `registry-gc`, another request) holds the lock, the callback sleeps 1, 2, 5, 10, …
/// up to 100 ms between tries until the timeout, exactly as `busy_timeout` does, and
/// counts the waits and the timeouts for `/metrics`. Once `giveUp` is true (a server
/// shutdown that has run out of time), a wait ends at the next try: the statement
/// fails with SQLITE_BUSY instead of holding the shutdown up for the whole timeout.
struct BusyHandler: Sendable {
    let timeout: Duration
    let onWait: @Sendable () -> Void
    let onTimeout: @Sendable () -> Void
    var giveUp: @Sendable () -> Bool = { false }

    private static let delays = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100]

    /// Milliseconds slept before try `tries` (what SQLite's `prior` is).
    static func slept(beforeTry tries: Int) -> Int {
        if tries < delays.count { return delays[..<tries].reduce(0, +) }
        return delays.reduce(0, +) + (tries - delays.count) * delays.last!
    }

    var callback: Database.BusyCallback {
        let timeoutMilliseconds = Int(timeout.milliseconds)
        let onWait = self.onWait, onTimeout = self.onTimeout, giveUp = self.giveUp
        return { tries in
            if tries == 0 { onWait() }
            if giveUp() {
                onTimeout()
                return false
            }
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

/// The switch behind `BusyHandler.giveUp`: off until the server's shutdown runs out of
/// time, then on for good.
final class LockWaitCancellation: Sendable {
    private let cancelled = Atomic<Bool>(false)
    func cancel() { cancelled.store(true, ordering: .relaxed) }
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}
