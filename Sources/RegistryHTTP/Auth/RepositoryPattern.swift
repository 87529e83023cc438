/// A repository name pattern from an access rule: `*` matches within one path
/// segment (no `/`), `**` matches any number of characters across segments, every
/// other character matches itself. `library/*` matches `library/ubuntu` but not
/// `library/a/b`; `team/**` matches both `team/a` and `team/a/b`; `**` matches all.
struct RepositoryPattern: Sendable, Equatable, CustomStringConvertible {
    enum Token: Equatable, Sendable {
        case literal(UInt8)
        case segmentWildcard
        case anyWildcard
    }

    let description: String
    private let tokens: [Token]

    init(_ pattern: String) {
        description = pattern
        var tokens: [Token] = []
        let bytes = Array(pattern.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "*") {
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "*") {
                    if tokens.last != .anyWildcard { tokens.append(.anyWildcard) }
                    index += 2
                } else {
                    tokens.append(.segmentWildcard)
                    index += 1
                }
            } else {
                tokens.append(.literal(bytes[index]))
                index += 1
            }
        }
        self.tokens = tokens
    }

    func matches(_ name: String) -> Bool {
        Self.match(tokens[...], Array(name.utf8)[...])
    }

    /// Backtracking glob match; patterns are short and written by operators.
    private static func match(_ pattern: ArraySlice<Token>, _ name: ArraySlice<UInt8>) -> Bool {
        guard let first = pattern.first else { return name.isEmpty }
        let rest = pattern.dropFirst()
        switch first {
        case .literal(let byte):
            guard name.first == byte else { return false }
            return match(rest, name.dropFirst())
        case .segmentWildcard, .anyWildcard:
            var candidate = name
            while true {
                if match(rest, candidate) { return true }
                guard let next = candidate.first else { return false }
                if first == .segmentWildcard, next == UInt8(ascii: "/") { return false }
                candidate = candidate.dropFirst()
            }
        }
    }
}
