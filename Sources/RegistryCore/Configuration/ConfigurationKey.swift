import Yams

/// One key of the configuration: its dotted path in the YAML file, where its value
/// lives in `RegistryConfiguration`, and how the value is read (from the file, a
/// `STOWAGE_*` variable or a command-line flag) and written back (`config check
/// --print`). Every key is one entry of `RegistryConfiguration.keys`; its default is
/// the initial value of the field it sets, and nowhere else.
public struct ConfigurationKey: Sendable {
    /// `gc.interval`
    public let path: String
    let read: @Sendable (inout RegistryConfiguration, ConfigurationInput) throws -> Void
    let write: @Sendable (RegistryConfiguration) throws -> Node

    /// The environment variable that overrides the key: `STOWAGE_` and the path
    /// upper-cased, dots as underscores (`gc.interval` is `STOWAGE_GC_INTERVAL`).
    public var variable: String { Self.variableName(path) }

    public static let environmentPrefix = "STOWAGE_"

    public static func variableName(_ path: String) -> String {
        environmentPrefix + path.replacingOccurrences(of: ".", with: "_").uppercased()
    }

    var segments: [String] { path.split(separator: ".").map(String.init) }

    /// A key whose value is a `ConfigurationValue`; `valid` refuses values the type
    /// allows but the key does not, with what it expects instead.
    static func value<V: ConfigurationValue>(
        _ path: String, _ field: WritableKeyPath<RegistryConfiguration, V> & Sendable,
        valid: (@Sendable (V) -> Bool)? = nil, expected: String = ""
    ) -> ConfigurationKey {
        ConfigurationKey(path: path, read: { configuration, input in
            let value = try V.read(input)
            if let valid, !valid(value) { throw input.invalid(expected) }
            configuration[keyPath: field] = value
        }, write: { configuration in try configuration[keyPath: field].yaml })
    }

    /// A key with its own reading and writing (a value that is not a field of its own,
    /// such as `listen`, or a text form of its own, such as sizes).
    static func custom(
        _ path: String, read: @escaping @Sendable (inout RegistryConfiguration, ConfigurationInput) throws -> Void,
        write: @escaping @Sendable (RegistryConfiguration) throws -> Node
    ) -> ConfigurationKey {
        ConfigurationKey(path: path, read: read, write: write)
    }
}

/// A key's value as given: a YAML node from the file, or the text of a variable or a
/// flag (read as YAML when the key holds a list or a map).
struct ConfigurationInput {
    enum Source {
        case file
        case environment(String)
        case flag(String)
    }

    let node: Node
    let path: String
    let source: Source

    /// The key as the operator should look for it.
    var name: String {
        switch source {
        case .file: path
        case .environment(let variable): "\(path) (\(variable))"
        case .flag(let flag): flag
        }
    }

    func invalid(_ expected: String) -> ConfigurationError {
        .invalid(key: name, expected: expected, got: ConfigurationInput.describe(node))
    }

    /// The text of a scalar value.
    func text(_ expected: String) throws -> String {
        guard case .scalar(let scalar) = node else { throw invalid(expected) }
        return scalar.string
    }

    /// A structured value (a list, a map, a list of rules), decoded strictly: unknown
    /// keys inside it are refused and every error names its path.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        var tree = node
        if case .scalar(let scalar) = node, !isFile {
            guard let parsed = try? Yams.compose(yaml: scalar.string) else { throw invalid("YAML") }
            tree = parsed
        }
        return try NodeDecoder.decode(type, from: tree, path: path, name: name)
    }

    private var isFile: Bool {
        if case .file = source { return true }
        return false
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): scalar.string
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}

/// What a configuration key can hold.
protocol ConfigurationValue: Sendable {
    static func read(_ input: ConfigurationInput) throws -> Self
    /// The value as `config check --print` writes it.
    var yaml: Node { get throws }
}

extension Bool: ConfigurationValue {
    static func read(_ input: ConfigurationInput) throws -> Bool {
        guard case .scalar(let scalar) = input.node, let value = Bool.construct(from: scalar) else { throw input.invalid("true or false") }
        return value
    }

    var yaml: Node { Node(self ? "true" : "false") }
}

extension Int: ConfigurationValue {
    static func read(_ input: ConfigurationInput) throws -> Int {
        guard case .scalar(let scalar) = input.node, let wide = Int64.construct(from: scalar), let value = Int(exactly: wide) else {
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
