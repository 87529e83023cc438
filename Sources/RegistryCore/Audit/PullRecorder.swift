import GRDB
import Logging
import OCI
import Synchronization

/// Records manifest pulls without slowing the read path: a pull appends to an
/// in-memory buffer (one short lock), and `flush()` writes the buffer in a single
/// transaction: one `audit_events` row per pull ('manifest.pull') and
/// `last_pulled_at` on the manifest and tag. The server flushes every second; a
/// crash loses at most that second of pull records, never a change.
public final class PullRecorder: Sendable {
    struct Pull: Sendable {
        var repository: RepositoryName
        var tag: String?
        var digest: Digest
        var audit: AuditContext
    }

    private let buffer = Mutex<[Pull]>([])
    private let database: RegistryDatabase
    /// Above this many buffered pulls, new ones are dropped (and counted) rather than
    /// letting memory grow when the database cannot keep up.
    static let capacity = 100_000
    private let dropped = Atomic<Int>(0)

    init(database: RegistryDatabase) {
        self.database = database
    }

    func record(_ pull: Pull) {
        let accepted = buffer.withLock { pulls in
            guard pulls.count < Self.capacity else { return false }
            pulls.append(pull)
            return true
        }
        if !accepted { dropped.add(1, ordering: .relaxed) }
    }

    /// Pull records lost because the buffer was full.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }

    /// Writes every buffered pull; returns how many.
    @discardableResult
    public func flush() async throws -> Int {
        let pulls = buffer.withLock { pulls in
            defer { pulls.removeAll(keepingCapacity: true) }
            return pulls
        }
        guard !pulls.isEmpty else { return 0 }
        do {
            try await write(pulls)
        } catch {
            // Keep them for the next flush.
            buffer.withLock { $0.insert(contentsOf: pulls.prefix(max(0, Self.capacity - $0.count)), at: 0) }
            throw error
        }
        return pulls.count
    }

    private func write(_ pulls: [Pull]) async throws {
        try await database.pool.write { db in
            let touchManifest = try db.cachedStatement(sql: """
                UPDATE manifests SET last_pulled_at = strftime('%Y-%m-%d %H:%M:%f', 'now')
                WHERE digest = ? AND repository_id = (SELECT id FROM repositories WHERE name = ?)
                """)
            let touchTag = try db.cachedStatement(sql: """
                UPDATE tags SET last_pulled_at = strftime('%Y-%m-%d %H:%M:%f', 'now')
                WHERE name = ? AND repository_id = (SELECT id FROM repositories WHERE name = ?)
                """)
            try AuditTrail.record(db, pulls.lazy.map { pull in
                AuditEvent("manifest.pull", by: pull.audit, repository: pull.repository.value, tag: pull.tag,
                           digest: pull.digest.description)
            })
            // One update per distinct manifest and tag, however many pulls.
            for (repository, digest) in Set(pulls.map { PairKey($0.repository.value, $0.digest.description) }).map(\.pair) {
                try touchManifest.execute(arguments: [digest, repository])
            }
            for (repository, tag) in Set(pulls.compactMap { p in p.tag.map { PairKey(p.repository.value, $0) } }).map(\.pair) {
                try touchTag.execute(arguments: [tag, repository])
            }
        }
    }
}

private struct PairKey: Hashable {
    let first: String, second: String
    init(_ first: String, _ second: String) { self.first = first; self.second = second }
    var pair: (String, String) { (first, second) }
}
