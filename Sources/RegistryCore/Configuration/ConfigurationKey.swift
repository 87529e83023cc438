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
        environmentPrefix + String(path.uppercased().map { $0 == "." ? "_" : $0 })
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
