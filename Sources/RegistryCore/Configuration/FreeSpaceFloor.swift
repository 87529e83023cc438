import Foundation
import Yams

/// `storage.min_free_space`: pushes are refused while the data directory's filesystem
/// has less free space than this, either a size or a percentage of the filesystem.
public enum FreeSpaceFloor: Sendable, Equatable, CustomStringConvertible {
    case bytes(Int64)
    case percent(Double)

    public static let `default` = FreeSpaceFloor.bytes(512 << 20)

    public static func parse(_ text: String, key: String) throws(ConfigurationError) -> FreeSpaceFloor {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("%") {
            guard let value = Double(trimmed.dropLast().trimmingCharacters(in: .whitespaces)), (0...100).contains(value) else {
                throw ConfigurationError.invalid(key: key, expected: "a size such as 1GiB or a percentage from 0% to 100%", got: text)
            }
            return .percent(value)
        }
        guard let bytes = ByteSize.parse(trimmed) else {
            throw ConfigurationError.invalid(key: key, expected: "a size such as 1GiB or a percentage from 0% to 100%", got: text)
        }
        return .bytes(bytes)
    }

    /// The floor in bytes on a filesystem of `capacity` bytes.
    public func bytes(capacity: Int64) -> Int64 {
        switch self {
        case .bytes(let bytes): bytes
        case .percent(let percent): Int64(Double(capacity) * percent / 100)
        }
    }

    /// As the configuration takes it: `512MiB`, `10%`.
    public var text: String {
        switch self {
        case .bytes(let bytes): ByteSize.text(bytes)
        case .percent: description
        }
    }

    public var description: String {
        switch self {
        case .bytes(let bytes): ByteSize.format(bytes)
        case .percent(let percent): percent == percent.rounded() ? "\(Int(percent))%" : "\(percent)%"
        }
    }
}

extension FreeSpaceFloor: ConfigurationValue {
    static func read(_ input: ConfigurationInput) throws -> FreeSpaceFloor {
        try parse(try input.text("a size such as 1GiB or a percentage from 0% to 100%"), key: input.name)
    }

    var yaml: Node { Node(text) }
}
