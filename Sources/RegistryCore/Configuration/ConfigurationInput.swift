import Yams

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
