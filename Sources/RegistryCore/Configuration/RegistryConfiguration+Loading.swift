import Foundation
import Yams

/// Loading: defaults < file < `STOWAGE_*` environment variables (< command-line flags,
/// which the commands apply afterwards). Unknown keys and variables are refused.
extension RegistryConfiguration {
    /// Reads the YAML file (if any) and the `STOWAGE_*` variables of `environment`;
    /// keys given by neither keep their values in `base`.
    public static func load(
        file: String?, environment: [String: String], base: RegistryConfiguration = RegistryConfiguration()
    ) throws -> RegistryConfiguration {
        let decoded = try ConfigurationDecoder(environment: environment).decode(ConfigurationFile.self, from: try compose(file: file))
        return try decoded.value.apply(to: base)
    }

    /// The configuration as it takes effect: the file with the environment overrides
    /// applied, as YAML. Throws what `load` would throw.
    public static func effectiveYAML(file: String?, environment: [String: String]) throws -> String {
        let root = try compose(file: file)
        let decoded = try ConfigurationDecoder(environment: environment).decode(ConfigurationFile.self, from: root)
        _ = try decoded.value.apply(to: RegistryConfiguration())
        var node = root ?? Node([(Node, Node)]())
        for override in decoded.overrides {
            node = setting(override.path[...], to: Node(override.value), in: node)
        }
        return try Yams.serialize(node: node)
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
            return try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError.malformed(file: file, reason: "\(error)")
        }
    }

    private static func setting(_ path: ArraySlice<String>, to value: Node, in node: Node) -> Node {
        guard let key = path.first else { return value }
        var mapping = node.mapping ?? Node.Mapping([])
        mapping[key] = setting(path.dropFirst(), to: value, in: mapping[key] ?? Node([(Node, Node)]()))
        return .mapping(mapping)
    }
}
