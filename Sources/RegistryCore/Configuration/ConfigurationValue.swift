import Yams

/// What a configuration key can hold.
protocol ConfigurationValue: Sendable {
    static func read(_ input: ConfigurationInput) throws -> Self
    /// The value as `config check --print` writes it.
    var yaml: Node { get throws }
}

extension Bool: ConfigurationValue {
    static func read(_ input: ConfigurationInput) throws -> Bool {
        guard let value = ConfigurationInput.bool(try input.text("true or false")) else { throw input.invalid("true or false") }
        return value
    }

    var yaml: Node { Node(self ? "true" : "false") }
}

extension Int: ConfigurationValue {
    static func read(_ input: ConfigurationInput) throws -> Int {
        guard let wide = ConfigurationInput.integer(try input.text("an integer")), let value = Int(exactly: wide) else {
            throw input.invalid("an integer")
        }
        return value
    }

    var yaml: Node { Node(String(self)) }
}

extension String: ConfigurationValue {
    static func read(_ input: ConfigurationInput) throws -> String {
        try input.text("a string")
    }

    /// Quoted when empty: a bare `key:` would read back as no value.
    var yaml: Node { isEmpty ? Node("", Tag(.str), .singleQuoted) : Node(self) }
}

/// An optional key: `null` (or no value) keeps the default.
extension Optional: ConfigurationValue where Wrapped: ConfigurationValue {
    static func read(_ input: ConfigurationInput) throws -> Wrapped? {
        try Wrapped.read(input)
    }

    var yaml: Node {
        get throws { try self?.yaml ?? Node("null") }
    }
}

extension Duration: ConfigurationValue {
    static func read(_ input: ConfigurationInput) throws -> Duration {
        let text = try input.text("a duration such as 30s, 10m, 1h")
        return try DurationParser.parse(text, key: input.name)
    }

    var yaml: Node { Node(DurationParser.format(self)) }
}

/// What a list key can hold (`[String]`, `auth.access`'s rules).
protocol ConfigurationElement: Decodable, Sendable {
    var yaml: Node { get }
}

extension String: ConfigurationElement {}

extension Array: ConfigurationValue where Element: ConfigurationElement {
    static func read(_ input: ConfigurationInput) throws -> [Element] {
        try input.decode([Element].self)
    }

    var yaml: Node { Node(map(\.yaml)) }
}

extension Dictionary: ConfigurationValue where Key == String, Value == [String] {
    static func read(_ input: ConfigurationInput) throws -> [String: [String]] {
        try input.decode([String: [String]].self)
    }

    var yaml: Node { Node(sorted { $0.key < $1.key }.map { (Node($0.key), $0.value.yaml) }) }
}

/// A key that takes one of a few words.
protocol ConfigurationChoice: ConfigurationValue, RawRepresentable<String>, CaseIterable {}

extension ConfigurationChoice {
    static func read(_ input: ConfigurationInput) throws -> Self {
        let words = allCases.map(\.rawValue)
        let expected = words.dropLast().joined(separator: ", ") + " or " + (words.last ?? "")
        guard let value = Self(rawValue: try input.text(expected)) else { throw input.invalid(expected) }
        return value
    }

    var yaml: Node { Node(rawValue) }
}
