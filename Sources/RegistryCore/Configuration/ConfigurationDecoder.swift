import Yams

/// Decodes the configuration structs from a composed YAML node, strictly, and merges
/// `STOWAGE_*` environment variables on the way.
///
/// - Unknown keys are refused: every struct whose `CodingKeys` is `CaseIterable` (the
///   convention for configuration sections) lists its keys, and a key in the file that
///   is not one of them is an error naming its dotted path and the keys allowed there.
///   Maps with free keys (`auth.groups`) decode through non-`CaseIterable` keys and are
///   not checked. A new section needs nothing but that convention to be validated.
/// - A value of the wrong type names its key: `gc.enabled: expected true or false, got 'sometimes'`.
/// - Environment: while a section is decoded, each of its keys may be overridden by
///   `STOWAGE_<PATH>` (the dotted path upper-cased, dots as underscores:
///   `gc.interval` is `STOWAGE_GC_INTERVAL`, `data_dir` is `STOWAGE_DATA_DIR`). A variable
///   that no key consumed is refused like an unknown key. A value given to a list or map
///   key is read as YAML (`STOWAGE_AUTH_TOKEN_VERIFICATION_KEYS='[a.pem, b.pem]'`).
public struct ConfigurationDecoder {
    public static let environmentPrefix = "STOWAGE_"

    /// The `STOWAGE_*` variables of `environment`.
    let environment: [String: String]

    public init(environment: [String: String] = [:]) {
        self.environment = environment.filter { $0.key.hasPrefix(Self.environmentPrefix) }
    }

    /// What decoding produced: the value, and every variable name the decoded sections offered.
    public struct Result<T> {
        public var value: T
        public var knownVariables: Set<String>
    }

    func decode<T: Decodable>(_ type: T.Type, from node: Node?) throws -> Result<T> {
        let root = node ?? Node([(Node, Node)]())
        guard root.mapping != nil else {
            throw ConfigurationError.invalid(key: "(top level)", expected: "a mapping of keys to values", got: Self.describe(root))
        }
        let state = DecodingState(environment: environment)
        let value: T
        do {
            value = try T(from: NodeDecoder(node: root, path: [], state: state))
        } catch let error as ConfigurationError {
            throw error
        } catch let error as DecodingError {
            throw Self.translate(error)
        } catch {
            throw ConfigurationError.invalid(key: "(configuration)", expected: "a valid configuration", got: "\(error)")
        }
        let unknown = environment.keys.filter { !state.consumed.contains($0) }.sorted()
        if let name = unknown.first {
            throw ConfigurationError.unknownEnvironmentVariable(name, expected: state.suggestions(for: name))
        }
        return Result(value: value, knownVariables: state.known)
    }

    /// The environment variable that overrides the key at `path`.
    public static func variableName(_ path: [String]) -> String {
        environmentPrefix + path.joined(separator: "_").uppercased()
    }

    /// A section's own `init(from:)` may throw `DecodingError`s: they name the key too.
    static func translate(_ error: DecodingError) -> ConfigurationError {
        switch error {
        case .typeMismatch(let type, let context):
            .invalid(key: NodeDecoder.dotted(context.codingPath), expected: "a value of type \(type)", got: context.debugDescription)
        case .valueNotFound(let type, let context):
            .invalid(key: NodeDecoder.dotted(context.codingPath), expected: "a value of type \(type)", got: "nothing")
        case .keyNotFound(let key, let context):
            .invalid(key: NodeDecoder.dotted(context.codingPath + [key]), expected: "a value (the key is required)", got: "nothing")
        case .dataCorrupted(let context):
            .invalid(key: NodeDecoder.dotted(context.codingPath), expected: "a valid value", got: context.debugDescription)
        @unknown default:
            .invalid(key: "(configuration)", expected: "a valid configuration", got: "\(error)")
        }
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

/// Shared by every decoder of one decoding run: which variables were used, and which
/// names were possible (for the error message of an unknown one).
final class DecodingState {
    let environment: [String: String]
    var consumed: Set<String> = []
    var known: Set<String> = []

    init(environment: [String: String]) {
        self.environment = environment
    }

    /// Known names of the same section as `name` (or all of them).
    func suggestions(for name: String) -> [String] {
        let sorted = known.sorted()
        var prefix = Substring(name)
        while let underscore = prefix.lastIndex(of: "_") {
            prefix = prefix[..<underscore]
            if prefix.count < ConfigurationDecoder.environmentPrefix.count { break }
            let siblings = sorted.filter { $0.hasPrefix(prefix + "_") }
            if !siblings.isEmpty { return siblings }
        }
        return sorted
    }
}

/// A path component: a mapping key or a list index.
private struct PathKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

struct NodeDecoder: Decoder {
    let node: Node
    let path: [any CodingKey]
    let state: DecodingState
    /// The node came from an environment variable (its text may stand for a list or a map).
    var fromEnvironment = false

    var codingPath: [any CodingKey] { path }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// `auth.access[0].actions`
    var dottedPath: String {
        Self.dotted(path)
    }

    static func dotted(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text.isEmpty ? "(top level)" : text
    }

    /// The key as the operator should look for it: with the variable name when the value came from one.
    var keyName: String {
        fromEnvironment ? "\(dottedPath) (\(ConfigurationDecoder.variableName(path.map(\.stringValue))))" : dottedPath
    }

    func mismatch(_ expected: String) -> ConfigurationError {
        .invalid(key: keyName, expected: expected, got: ConfigurationDecoder.describe(node))
    }

    /// The node as YAML when it came from the environment as text, e.g. `[a, b]`.
    func structured() -> Node {
        guard fromEnvironment, case .scalar(let scalar) = node, let parsed = try? Yams.compose(yaml: scalar.string) else { return node }
        return parsed
    }

    func child(_ node: Node, _ key: any CodingKey, fromEnvironment: Bool = false) -> NodeDecoder {
        NodeDecoder(node: node, path: path + [key], state: state, fromEnvironment: fromEnvironment)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(var mapping) = structured() else { throw mismatch("a mapping") }
        let names = path.map(\.stringValue)
        var fromEnvironment: Set<String> = []
        if let allowed = Self.keyNames(Key.self) {
            for key in mapping.keys {
                guard let name = key.string, allowed.contains(name) else {
                    throw ConfigurationError.unknownKey(Self.dotted(path + [PathKey(stringValue: key.string ?? "\(key)")]), expected: allowed)
                }
            }
            // Items of a list (auth.access[0]) are set as a whole, by the list's variable.
            let inList = path.contains { $0.intValue != nil }
            for name in allowed where !inList {
                let variable = ConfigurationDecoder.variableName(names + [name])
                state.known.insert(variable)
                if let value = state.environment[variable] {
                    mapping[name] = Node(value)
                    fromEnvironment.insert(name)
                    state.consumed.insert(variable)
                } else if mapping[name] == nil || mapping[name]?.null != nil,
                          state.environment.keys.contains(where: { $0.hasPrefix(variable + "_") }) {
                    // A variable for a key inside a section the file does not have (or leaves empty).
                    mapping[name] = Node([(Node, Node)]())
                }
            }
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(mapping: mapping, decoder: self, fromEnvironment: fromEnvironment))
    }

    /// The names of a `CaseIterable` coding-key type, or nil for free keys.
    static func keyNames<Key: CodingKey>(_ type: Key.Type) -> [String]? {
        guard let iterable = type as? any CaseIterable.Type else { return nil }
        return names(of: iterable)
    }

    private static func names<C: CaseIterable>(of type: C.Type) -> [String] {
        C.allCases.compactMap { ($0 as? any CodingKey)?.stringValue }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .sequence(let sequence) = structured() else { throw mismatch("a list") }
        return UnkeyedContainer(nodes: Array(sequence), decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(decoder: self)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let mapping: Node.Mapping
    let decoder: NodeDecoder
    let fromEnvironment: Set<String>

    var codingPath: [any CodingKey] { decoder.path }
    var allKeys: [Key] { mapping.keys.compactMap { $0.string.flatMap(Key.init(stringValue:)) } }

    func contains(_ key: Key) -> Bool { mapping[key.stringValue] != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let node = mapping[key.stringValue] else { return true }
        return node.null != nil
    }

    func childDecoder(_ key: Key) throws -> NodeDecoder {
        guard let node = mapping[key.stringValue] else {
            throw ConfigurationError.invalid(key: NodeDecoder.dotted(codingPath + [key]), expected: "a value", got: "")
        }
        return decoder.child(node, key, fromEnvironment: fromEnvironment.contains(key.stringValue))
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try T(from: childDecoder(key)) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try Bool(from: childDecoder(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try String(from: childDecoder(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try Double(from: childDecoder(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try Float(from: childDecoder(key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try Int(from: childDecoder(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try Int8(from: childDecoder(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try Int16(from: childDecoder(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try Int32(from: childDecoder(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try Int64(from: childDecoder(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try UInt(from: childDecoder(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try UInt8(from: childDecoder(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try UInt16(from: childDecoder(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try UInt32(from: childDecoder(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try UInt64(from: childDecoder(key)) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try childDecoder(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try childDecoder(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { try childDecoder(key) }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let nodes: [Node]
    let decoder: NodeDecoder
    var currentIndex = 0

    init(nodes: [Node], decoder: NodeDecoder) {
        self.nodes = nodes
        self.decoder = decoder
    }

    var codingPath: [any CodingKey] { decoder.path }
    var count: Int? { nodes.count }
    var isAtEnd: Bool { currentIndex >= nodes.count }

    mutating func next() throws -> NodeDecoder {
        guard !isAtEnd else {
            throw ConfigurationError.invalid(key: decoder.keyName, expected: "more list items", got: "\(nodes.count)")
        }
        defer { currentIndex += 1 }
        return decoder.child(nodes[currentIndex], PathKey(intValue: currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, nodes[currentIndex].null != nil else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: next()) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try Bool(from: next()) }
    mutating func decode(_ type: String.Type) throws -> String { try String(from: next()) }
    mutating func decode(_ type: Double.Type) throws -> Double { try Double(from: next()) }
    mutating func decode(_ type: Float.Type) throws -> Float { try Float(from: next()) }
    mutating func decode(_ type: Int.Type) throws -> Int { try Int(from: next()) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try Int8(from: next()) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try Int16(from: next()) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try Int32(from: next()) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try Int64(from: next()) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try UInt(from: next()) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try UInt8(from: next()) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try UInt16(from: next()) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try UInt32(from: next()) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try UInt64(from: next()) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try next() }
}

private struct SingleValueContainer: SingleValueDecodingContainer {
    let decoder: NodeDecoder

    var codingPath: [any CodingKey] { decoder.path }

    func scalar(_ expected: String) throws -> Node.Scalar {
        guard case .scalar(let scalar) = decoder.node else { throw decoder.mismatch(expected) }
        return scalar
    }

    func decodeNil() -> Bool { decoder.node.null != nil }

    func decode(_ type: Bool.Type) throws -> Bool {
        let expected = "true or false"
        guard let value = Bool.construct(from: try scalar(expected)) else { throw decoder.mismatch(expected) }
        return value
    }

    func decode(_ type: String.Type) throws -> String {
        try scalar("a string").string
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard let value = Double.construct(from: try scalar("a number")) else { throw decoder.mismatch("a number") }
        return value
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let expected = T.isSigned ? "an integer" : "a non-negative integer"
        guard let wide = Int64.construct(from: try scalar(expected)), let value = T(exactly: wide) else {
            throw decoder.mismatch(expected)
        }
        return value
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: decoder) }
}
