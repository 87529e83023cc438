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

    init(users: [String: String]) {
        self.users = users
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
        self.users = users
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
