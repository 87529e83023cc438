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

    /// Every key of the configuration file with its value here (defaults included), as
    /// YAML that `registry config check` and `registry serve --config` accept as it is:
    /// `registry config check --print`. Keys with no value (no htpasswd file, no TLS)
    /// are written as `null`.
    public func effectiveYAML() throws -> String {
        try YAMLEncoder().encode(ConfigurationFile(self))
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
}
