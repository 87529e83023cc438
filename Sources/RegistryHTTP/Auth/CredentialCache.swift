import Crypto
import Foundation
import Synchronization

/// Remembers recently verified user/password pairs for a short time, so that the
/// hundreds of requests of one push do not each pay for bcrypt (~100 ms at cost 10).
/// Only a SHA-256 of user and password is kept, never the password.
final class CredentialCache: Sendable {
    private struct State {
        var entries: [SHA256Digest: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())
    let ttl: Duration
    let capacity: Int

    init(ttl: Duration = .seconds(120), capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    private static func key(_ user: String, _ password: String) -> SHA256Digest {
        var hash = SHA256()
        hash.update(data: Array(user.utf8))
        hash.update(data: [0])
        hash.update(data: Array(password.utf8))
        return hash.finalize()
    }

    func contains(user: String, password: String) -> Bool {
        let key = Self.key(user, password)
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let expiry = state.entries[key] else { return false }
            if expiry > now { return true }
            state.entries[key] = nil
            return false
        }
    }

    func insert(user: String, password: String) {
        let key = Self.key(user, password)
        let now = ContinuousClock.now
        state.withLock { state in
            if state.entries.count >= capacity {
                state.entries = state.entries.filter { $0.value > now }
                if state.entries.count >= capacity { state.entries.removeAll() }
            }
            state.entries[key] = now + ttl
        }
    }

    func removeAll() {
        state.withLock { $0.entries.removeAll() }
    }
}
