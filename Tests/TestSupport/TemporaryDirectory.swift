import Foundation

/// A fresh directory under the system's temporary folder, removed by `remove()` or,
/// at the latest, when the last reference goes.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "test") throws {
        path = FileManager.default.temporaryDirectory.path + "/stowage-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// `path/name`, created.
    public func sub(_ name: String) throws -> String {
        let full = "\(path)/\(name)"
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    deinit { remove() }
}
