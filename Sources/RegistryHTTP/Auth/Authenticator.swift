import Foundation
import HummingbirdBcrypt
import Logging
import NIOPosix
import Synchronization

/// Checks user names and passwords against the htpasswd file: rate-limits failed
/// logins per client address, remembers recent successes (bcrypt is slow on purpose),
/// and re-reads the file when it changes, so users can be added without a restart.
final class Authenticator: Sendable {
    enum Outcome: Sendable, Equatable {
        case success(String)
        case failure
        case tooManyFailures(retryAfter: Duration)
    }

    private struct Loaded {
        var file: HtpasswdFile
        var modified: Date?
        var size: Int?
        var checked: ContinuousClock.Instant
    }

    let path: String?
    private let loaded: Mutex<Loaded>
    let cache = CredentialCache()
    let limiter: LoginRateLimiter
    let logger: Logger

    init(path: String?, failedLoginLimit: Int, logger: Logger) throws {
        self.path = path
        self.logger = logger
        limiter = LoginRateLimiter(limit: failedLoginLimit)
        var initial = Loaded(file: HtpasswdFile(users: [:]), checked: .now)
        if let path {
            initial.file = try HtpasswdFile.load(path: path, logger: logger)
            (initial.modified, initial.size) = Self.stat(path)
        }
        loaded = Mutex(initial)
    }

    var userCount: Int { currentFile().users.count }

    /// Verifies the credentials of a login from `address`.
    func authenticate(_ credentials: BasicCredentials, from address: String) async -> Outcome {
        if let wait = limiter.retryAfter(address) { return .tooManyFailures(retryAfter: wait) }
        // bcrypt reads the password as a C string: `secret\0anything` would match `secret`.
        guard !credentials.user.contains("\0"), !credentials.password.contains("\0") else {
            return refuse(credentials, from: address)
        }
        let file = currentFile()
        if cache.contains(user: credentials.user, password: credentials.password) {
            return .success(credentials.user)
        }
        let hash = file.users[credentials.user]
        let password = credentials.password
        let matches = (try? await NIOThreadPool.singleton.runIfActive {
            Bcrypt.verify(password, hash: hash ?? file.decoy)
        }) ?? false
        if matches, hash != nil {
            cache.insert(user: credentials.user, password: credentials.password)
            return .success(credentials.user)
        }
        return refuse(credentials, from: address)
    }

    private func refuse(_ credentials: BasicCredentials, from address: String) -> Outcome {
        limiter.recordFailure(address)
        logger.notice("failed login", metadata: ["user": "\(credentials.user)", "client": "\(address)"])
        return .failure
    }

    /// The users, re-read when the file's modification time or size changed (checked
    /// at most once a second). A file that became unreadable keeps the last good users.
    private func currentFile() -> HtpasswdFile {
        guard let path else { return loaded.withLock { $0.file } }
        let now = ContinuousClock.now
        let due = loaded.withLock { state -> Bool in
            guard now - state.checked >= .seconds(1) else { return false }
            state.checked = now
            return true
        }
        if due {
            let (modified, size) = Self.stat(path)
            let changed = loaded.withLock { $0.modified != modified || $0.size != size }
            if changed {
                do {
                    let file = try HtpasswdFile.load(path: path, logger: logger)
                    loaded.withLock {
                        $0.file = file
                        $0.modified = modified
                        $0.size = size
                    }
                    cache.removeAll()
                    logger.info("reloaded the htpasswd file", metadata: ["file": "\(path)", "users": "\(file.users.count)"])
                } catch {
                    logger.error("cannot reload the htpasswd file; keeping the previous users", metadata: ["error": "\(error)"])
                }
            }
        }
        return loaded.withLock { $0.file }
    }

    private static func stat(_ path: String) -> (Date?, Int?) {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.modificationDate] as? Date, (attributes?[.size] as? NSNumber)?.intValue)
    }
}
