import Foundation
import Logging

/// The users of an htpasswd file (`user:hash` per line, as `htpasswd -B` writes).
/// Only bcrypt hashes are accepted: `$2y$` (Apache's spelling), `$2b$` and `$2a$`.
/// Any other scheme (MD5 `$apr1$`, SHA1 `{SHA}`, crypt, plain) is refused with a
/// log line: those users cannot log in.
struct HtpasswdFile: Sendable, Equatable {
    /// user → bcrypt hash, with `$2y$` rewritten as the equivalent `$2b$` (the bcrypt
    /// implementation in use knows only `$2a$` and `$2b$`).
    let users: [String: String]
    /// A well-formed bcrypt hash nobody's password matches, checked for unknown users so
    /// that they cost what a known user costs: at the file's own cost (the most common
    /// one, the higher on a tie), so response times do not tell which user names exist.
    let decoy: String

    init(users: [String: String]) {
        self.users = users
        decoy = Self.decoy(cost: Self.typicalCost(of: users.values))
    }

    init(contents: String, logger: Logger? = nil, source: String = "htpasswd") {
        var users: [String: String] = [:]
        for (number, rawLine) in contents.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                logger?.warning("ignoring malformed htpasswd line", metadata: ["file": "\(source)", "line": "\(number + 1)"])
                continue
            }
            let user = String(line[..<colon])
            let hash = String(line[line.index(after: colon)...])
            guard let normalized = Self.bcrypt(hash) else {
                logger?.error("htpasswd entry is not bcrypt (use htpasswd -B); this user cannot log in",
                              metadata: ["file": "\(source)", "line": "\(number + 1)", "user": "\(user)"])
                continue
            }
            users[user] = normalized
        }
        self.init(users: users)
    }

    static func load(path: String, logger: Logger?) throws -> HtpasswdFile {
        let contents: String
        do {
            contents = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw AuthSetupError("cannot read the htpasswd file \(path): \(error.localizedDescription)")
        }
        return HtpasswdFile(contents: contents, logger: logger, source: path)
    }

    /// The cost the entries use most (the higher on a tie); 10, bcrypt's usual, for none.
    static func typicalCost(of hashes: some Sequence<String>) -> Int {
        var counts: [Int: Int] = [:]
        for hash in hashes {
            if let cost = Int(hash.dropFirst(4).prefix(2)), (4...31).contains(cost) { counts[cost, default: 0] += 1 }
        }
        return counts.max { ($0.value, $0.key) < ($1.value, $1.key) }?.key ?? 10
    }

    static func decoy(cost: Int) -> String {
        "$2b$" + (cost < 10 ? "0\(cost)" : "\(cost)") + "$" + String(repeating: "C", count: 53)
    }

    /// The hash in a form the bcrypt implementation verifies, or nil when it is not bcrypt.
    static func bcrypt(_ hash: String) -> String? {
        guard hash.count == 60 else { return nil }
        if hash.hasPrefix("$2y$") { return "$2b$" + hash.dropFirst(4) }
        if hash.hasPrefix("$2b$") || hash.hasPrefix("$2a$") { return hash }
        return nil
    }
}

/// A configuration problem found while setting up access control.
public struct AuthSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
