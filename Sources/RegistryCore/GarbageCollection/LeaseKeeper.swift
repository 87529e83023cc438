import Foundation
import GRDB
import Logging
import Synchronization

/// Keeps a held GC lease alive for the whole of a long operation that no single
/// statement covers (a `VACUUM INTO` of a large database, one big cross-file-system
/// copy): a timer task renews it every `interval` (a quarter of the lease by default).
/// A renewal that finds the row no longer ours (`GCError.leaseLost`) is recorded;
/// `check()` and `renew()` then throw, so the operation aborts instead of finishing a
/// copy whose blobs another collector may have deleted. Other renewal errors (a busy
/// database) are retried at the next tick: the lease still has three quarters left.
final class LeaseKeeper: Sendable {
    let registry: Registry
    let holder: String
    /// Seconds each renewal extends the lease by.
    let duration: Int
    private let lost = Mutex<GCError?>(nil)
    private let timer = Mutex<Task<Void, Never>?>(nil)

    init(registry: Registry, holder: String, duration: Int = GarbageCollector.leaseDuration,
         interval: Duration? = nil, logger: Logger? = nil) {
        self.registry = registry
        self.holder = holder
        self.duration = duration
        let every = interval ?? .milliseconds(max(1, duration) * 250)
        let task = Task { [self] in
            while true {
                do { try await Task.sleep(for: every) } catch { return }
                do {
                    try await renew()
                } catch is GCError {
                    logger?.error("the garbage collection lease was lost", metadata: ["holder": "\(holder)"])
                    return
                } catch is CancellationError {
                    return
                } catch {
                    logger?.warning("renewing the garbage collection lease failed; retrying", metadata: ["error": "\(error)"])
                }
            }
        }
        timer.withLock { $0 = task }
    }

    /// Renews now; throws `GCError.leaseLost` if it was (or is now found) lost.
    func renew() async throws {
        try check()
        let holder = self.holder, duration = self.duration
        do {
            try await registry.write { db in try GarbageCollector.renewLease(db, holder: holder, duration: duration) }
        } catch let error as GCError {
            lost.withLock { $0 = error }
            throw error
        }
    }

    /// Throws if a renewal found the lease lost.
    func check() throws {
        if let error = lost.withLock({ $0 }) { throw error }
    }

    var isLost: Bool { lost.withLock { $0 } != nil }

    /// Stops the timer (the lease itself is released by its owner).
    func stop() {
        timer.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    deinit { stop() }
}
