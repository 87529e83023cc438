import Foundation
import Yams

/// Loading: defaults < file < `STOWAGE_*` environment variables (< command-line flags,
/// which the commands apply afterwards with `set`). Unknown keys and variables are
/// refused, naming what is allowed there.
extension RegistryConfiguration {
    /// Reads the YAML file (if any) and the `STOWAGE_*` variables of `environment`;
    /// keys given by neither keep their values in `base`. A key given as `null` (or
    /// with nothing after the colon) is not given.
    public static func load(
        file: String?, environment: [String: String], base: RegistryConfiguration = RegistryConfiguration()
    ) throws -> RegistryConfiguration {
        var given: [String: Node] = [:]
        if let root = try compose(file: file) {
            guard root.mapping != nil else {
                throw ConfigurationError.invalid(key: "(top level)", expected: "a mapping of keys to values", got: ConfigurationInput.describe(root))
            }
            try collect(root, at: [], into: &given)
        }
        let variables = environment.filter { $0.key.hasPrefix(ConfigurationKey.environmentPrefix) }
        let known = keys.map(\.variable)
        if let unknown = variables.keys.filter({ !known.contains($0) }).sorted().first {
            throw ConfigurationError.unknownEnvironmentVariable(unknown, expected: suggestions(for: unknown, among: known))
        }
        var configuration = base
        for key in keys {
            if let text = variables[key.variable] {
                try key.read(&configuration, ConfigurationInput(value: .text(text), path: key.path, source: .environment(key.variable)))
            } else if let node = given[key.path], !ConfigurationInput.isNull(node) {
                try key.read(&configuration, ConfigurationInput(value: .node(node), path: key.path, source: .file))
            }
        }
        try configuration.validate()
        return configuration
    }

    /// Every key with its value here (defaults included), as YAML that `registry config
    /// check` and `registry serve --config` accept as it is: `registry config check
    /// --print`. Keys with no value (no htpasswd file, no TLS) are written as `null`.
    public func effectiveYAML() throws -> String {
        var root = Node([(Node, Node)]())
        for key in Self.keys {
            Self.insert(try key.write(self), at: key.segments[...], into: &root)
        }
        return try Yams.serialize(node: root)
    }

    private static func insert(_ value: Node, at path: ArraySlice<String>, into node: inout Node) {
        guard let first = path.first, case .mapping(var mapping) = node else { return }
        if path.count == 1 {
            mapping[first] = value
        } else {
            var section = mapping[first] ?? Node([(Node, Node)]())
            insert(value, at: path.dropFirst(), into: &section)
            mapping[first] = section
        }
        node = .mapping(mapping)
    }

    /// The file's values by key path; a name that is neither a key nor a section of
    /// keys at its place is refused, with the names allowed there.
    private static func collect(_ node: Node, at path: [String], into given: inout [String: Node]) throws {
        guard case .mapping(let mapping) = node else { return }
        var allowed: [String] = []
        for key in keys {
            let segments = key.segments
            guard segments.count > path.count, Array(segments.prefix(path.count)) == path else { continue }
            if !allowed.contains(segments[path.count]) { allowed.append(segments[path.count]) }
        }
        for (name, value) in mapping {
            let full = path + [name.string ?? "\(name)"]
            guard let last = full.last, allowed.contains(last) else {
                throw ConfigurationError.unknownKey(full.joined(separator: "."), expected: allowed)
            }
            let dotted = full.joined(separator: ".")
            if keys.contains(where: { $0.path == dotted }) {
                given[dotted] = value
            } else if !ConfigurationInput.isNull(value) {
                guard value.mapping != nil else {
                    throw ConfigurationError.invalid(key: dotted, expected: "a mapping", got: ConfigurationInput.describe(value))
                }
                try collect(value, at: full, into: &given)
            }
        }
    }

    /// Known names of the same section as `name` (or all of them).
    private static func suggestions(for name: String, among known: [String]) -> [String] {
        let sorted = known.sorted()
        var prefix = Substring(name)
        while let underscore = prefix.lastIndex(of: "_") {
            prefix = prefix[..<underscore]
            if prefix.count < ConfigurationKey.environmentPrefix.count { break }
            let siblings = sorted.filter { $0.hasPrefix(prefix + "_") }
            if !siblings.isEmpty { return siblings }
        }
        return sorted
    }

    /// The file's YAML tree; nil for no file or an empty one.
    static func compose(file: String?) throws -> Node? {
        guard let file else { return nil }
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigurationError.unreadable(file)
        }
        do {
            return try Yams.compose(yaml: text, .basic)
        } catch {
            throw ConfigurationError.malformed(file: file, reason: "\(error)")
        }
    }
}
