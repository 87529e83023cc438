import Yams

/// A path component: a mapping key or a list index.
struct PathKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// Decodes a structured configuration value (a list, a map, a list of rules) from its
/// YAML node, strictly:
/// - Unknown keys are refused: every struct whose `CodingKeys` is `CaseIterable` (the
///   convention for configuration structs) lists its keys, and a key that is not one of
///   them is an error naming its dotted path and the keys allowed there. Maps with free
///   keys (`auth.groups`) decode through non-`CaseIterable` keys and are not checked.
/// - A value of the wrong type names its key: `auth.access[0].subjects: expected a list`.
struct NodeDecoder: Decoder {
    let node: Node
    let path: [any CodingKey]
    /// How the operator names the value at the root (the key, or its variable or flag).
    let rootName: String
    let rootDepth: Int

    var codingPath: [any CodingKey] { path }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func decode<T: Decodable>(_ type: T.Type, from node: Node, path: String, name: String) throws -> T {
        let keys = path.split(separator: ".").map { PathKey(stringValue: String($0)) as any CodingKey }
        do {
            return try T(from: NodeDecoder(node: node, path: keys, rootName: name, rootDepth: keys.count))
        } catch let error as ConfigurationError {
            throw error
        } catch let error as DecodingError {
            throw translate(error)
        }
    }

    /// A struct's own `init(from:)` may throw `DecodingError`s: they name the key too.
    static func translate(_ error: DecodingError) -> ConfigurationError {
        switch error {
        case .typeMismatch(let type, let context):
            .invalid(key: dotted(context.codingPath), expected: "a value of type \(type)", got: context.debugDescription)
        case .valueNotFound(let type, let context):
            .invalid(key: dotted(context.codingPath), expected: "a value of type \(type)", got: "nothing")
        case .keyNotFound(let key, let context):
            .invalid(key: dotted(context.codingPath + [key]), expected: "a value (the key is required)", got: "nothing")
        case .dataCorrupted(let context):
            .invalid(key: dotted(context.codingPath), expected: "a valid value", got: context.debugDescription)
        @unknown default:
            .invalid(key: "(configuration)", expected: "a valid configuration", got: "\(error)")
        }
    }

    /// `auth.access[0].actions`
    static func dotted(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text.isEmpty ? "(top level)" : text
    }

    /// The key as the operator should look for it.
    var keyName: String {
        path.count == rootDepth ? rootName : Self.dotted(path)
    }

    func mismatch(_ expected: String) -> ConfigurationError {
        .invalid(key: keyName, expected: expected, got: ConfigurationInput.describe(node))
    }

    func child(_ node: Node, _ key: any CodingKey) -> NodeDecoder {
        NodeDecoder(node: node, path: path + [key], rootName: rootName, rootDepth: rootDepth)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let mapping) = node else { throw mismatch("a mapping") }
        if let allowed = Self.keyNames(Key.self) {
            for key in mapping.keys {
                guard let name = key.string, allowed.contains(name) else {
                    throw ConfigurationError.unknownKey(Self.dotted(path + [PathKey(stringValue: key.string ?? "\(key)")]), expected: allowed)
                }
            }
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(mapping: mapping, decoder: self))
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
        guard case .sequence(let sequence) = node else { throw mismatch("a list") }
        return UnkeyedContainer(nodes: Array(sequence), decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(decoder: self)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let mapping: Node.Mapping
    let decoder: NodeDecoder

    var codingPath: [any CodingKey] { decoder.path }
    var allKeys: [Key] { mapping.keys.compactMap { $0.string.flatMap(Key.init(stringValue:)) } }

    func contains(_ key: Key) -> Bool { mapping[key.stringValue] != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let node = mapping[key.stringValue] else { return true }
        return ConfigurationInput.isNull(node)
    }

    func childDecoder(_ key: Key) throws -> NodeDecoder {
        guard let node = mapping[key.stringValue] else {
            throw ConfigurationError.invalid(key: NodeDecoder.dotted(codingPath + [key]), expected: "a value", got: "")
        }
        return decoder.child(node, key)
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
        guard !isAtEnd, ConfigurationInput.isNull(nodes[currentIndex]) else { return false }
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

    func decodeNil() -> Bool { ConfigurationInput.isNull(decoder.node) }

    func decode(_ type: Bool.Type) throws -> Bool {
        let expected = "true or false"
        guard let value = ConfigurationInput.bool(try scalar(expected).string) else { throw decoder.mismatch(expected) }
        return value
    }

    func decode(_ type: String.Type) throws -> String {
        try scalar("a string").string
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard let value = Double(try scalar("a number").string) else { throw decoder.mismatch("a number") }
        return value
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let expected = T.isSigned ? "an integer" : "a non-negative integer"
        guard let wide = ConfigurationInput.integer(try scalar(expected).string), let value = T(exactly: wide) else {
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
