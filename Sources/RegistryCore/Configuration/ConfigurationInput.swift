import Yams

/// A key's value as given: a YAML node from the file, or the text of a variable or a
/// flag (read as YAML when the key holds a list or a map).
///
/// Scalars are read from their text by the rules below, never by YAML's tag resolution:
/// the file is composed with Yams' `basic` resolver, and text from a variable or a flag
/// never becomes a node unless it must. Yams' default resolver compiles a dozen regular
/// expressions the first time any node is made, a few milliseconds of every start.
struct ConfigurationInput {
    enum Source {
        case file
        case environment(String)
        case flag(String)
    }

    enum Value {
        case node(Node)
        case text(String)
    }

    let value: Value
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
        let got = switch value {
        case .node(let node): Self.describe(node)
        case .text(let text): text
        }
        return .invalid(key: name, expected: expected, got: got)
    }

    /// The text of a scalar value.
    func text(_ expected: String) throws -> String {
        switch value {
        case .text(let text): return text
        case .node(.scalar(let scalar)): return scalar.string
        case .node: throw invalid(expected)
        }
    }

    /// A structured value (a list, a map, a list of rules), decoded strictly: unknown
    /// keys inside it are refused and every error names its path.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let tree: Node
        switch value {
        case .node(let node):
            tree = node
        case .text(let text):
            guard let parsed = try? Yams.compose(yaml: text, .basic) else { throw invalid("YAML") }
            tree = parsed
        }
        return try NodeDecoder.decode(type, from: tree, path: path, name: name)
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): scalar.string
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    // MARK: Scalars

    /// `true`/`yes`/`on` and `false`/`no`/`off`, in any case (YAML 1.1's booleans).
    static func bool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on": true
        case "false", "no", "off": false
        default: nil
        }
    }

    /// A decimal integer, with an optional sign and `_` between digits.
    static func integer(_ text: String) -> Int64? {
        var digits = Substring(text)
        if digits.first == "+" { digits = digits.dropFirst() }
        return Int64(digits.filter { $0 != "_" })
    }

    /// Whether a file's scalar stands for no value: empty, `~` or `null`, unquoted.
    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }
}
