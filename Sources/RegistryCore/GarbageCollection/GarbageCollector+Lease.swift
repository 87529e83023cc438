import Foundation
import GRDB

extension GarbageCollector {
    static let leaseDuration = 600

    /// `hostname:pid/run`: the process (to tell whether a holder is still alive) and
    /// the run, so that two collectors of one process exclude each other too.
    static func newHolderName() -> String {
        "\(ProcessInfo.processInfo.hostName):\(getpid())/\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Takes the one collector lease. A lease held by a process of this host that no
    /// longer exists (a collector killed mid-run) is taken over at once.
    /// `duration` (seconds) is shortened only by tests.
    ///
    /// Only the lease holder runs a collection, so once the lease is ours every
    /// `gc_runs` row still `running` belongs to a collector that is gone (killed, or
    /// its machine lost): it is marked `failed` with the error `interrupted`, in the same
    /// transaction, so that `gc_history` tells the truth. (A holder that merely let its
    /// lease run out and still finishes overwrites this with its own outcome.)
    func acquireLease(duration: Int = leaseDuration) async throws -> String {
        let me = Self.newHolderName()
        let host = ProcessInfo.processInfo.hostName
        let result = try await registry.write { db -> GCError? in
            if let row = try Row.fetchOne(db, sql: """
                SELECT holder, expires_at, expires_at > strftime('%Y-%m-%d %H:%M:%f', 'now') AS valid FROM gc_lease WHERE id = 1
                """) {
                let holder: String = row["holder"]
                let valid: Bool = row["valid"]
                if valid, holder != me, Self.isAlive(holder, localHost: host) {
                    return GCError.leaseHeld(holder: holder, until: row["expires_at"])
                }
            }
            try db.execute(sql: """
                INSERT INTO gc_lease(id, holder, expires_at)
                VALUES (1, ?, strftime('%Y-%m-%d %H:%M:%f', 'now', '+\(duration) seconds'))
                ON CONFLICT(id) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at,
                    expires_at = excluded.expires_at
                """, arguments: [me])
            try db.execute(sql: "UPDATE gc_runs SET status = 'failed', error = ? WHERE status = 'running'",
                           arguments: [Self.interruptedError])
            return nil
        }
        if let result {
            metrics.leaseWaits.increment()
            throw result
        }
        return me
    }

    /// The `gc_runs.error` of a run whose collector went away before it finished.
    static let interruptedError = "interrupted"

    /// Extends the lease; done inside each sweep transaction. Throws `GCError.leaseLost`
    /// when the row is no longer `holder`'s (it expired and another collector took it, or
    /// it was released): whoever took it may have deleted blobs since.
    static func renewLease(_ db: Database, holder: String, duration: Int = leaseDuration) throws {
        try db.execute(sql: """
            UPDATE gc_lease SET expires_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '+\(duration) seconds')
            WHERE id = 1 AND holder = ?
            """, arguments: [holder])
        guard db.changesCount > 0 else { throw GCError.leaseLost(holder: holder) }
    }

    /// Runs `body` holding the collector lease, and gives the lease back on every way
    /// out of it: return, error and cancellation alike. The one way to hold the lease,
    /// so no caller pairs acquire and release by hand.
    func withLease<T>(duration: Int = leaseDuration, _ body: (String) async throws -> T) async throws -> T {
        let holder = try await acquireLease(duration: duration)
        return try await holding(holder) { try await body(holder) }
    }

    /// Runs `body`, then releases the lease `holder` (taken by `acquireLease`), however
    /// `body` ends.
    func holding<T>(_ holder: String, _ body: () async throws -> T) async throws -> T {
        let value: T
        do {
            value = try await body()
        } catch {
            await releaseLease(holder)
            throw error
        }
        await releaseLease(holder)
        return value
    }

    /// Deletes the lease row if it is still `holder`'s. An async write on GRDB's writer
    /// queue, never a blocking pool call on a cooperative thread. It runs uninterrupted:
    /// a collector stopped by a shutdown must still let the next one start at once. A
    /// failure (a busy database)
    /// leaves the row to expire (`leaseDuration`), or to be taken over as soon as this
    /// process has exited.
    func releaseLease(_ holder: String) async {
        let registry = self.registry
        _ = try? await Registry.uninterrupted {
            try await registry.write { db in
                try db.execute(sql: "DELETE FROM gc_lease WHERE id = 1 AND holder = ?", arguments: [holder])
            }
        }
    }

    private static func isAlive(_ holder: String, localHost: String) -> Bool {
        let process = holder.split(separator: "/", maxSplits: 1).first.map(String.init) ?? holder
        guard let colon = process.lastIndex(of: ":"), process[..<colon] == localHost,
              let pid = Int32(process[process.index(after: colon)...])
        else { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
