import Foundation

/// The package root, from this file's path: `<root>/Tests/TestSupport/PackageRoot.swift`.
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

public struct MissingExecutable: Error, CustomStringConvertible {
    public let description: String
}

/// The built executable `name` in `.build/debug`; a missing one fails the test with
/// what to do about it.
public func builtExecutable(_ name: String) throws -> String {
    let path = packageRoot.appendingPathComponent(".build/debug/\(name)").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw MissingExecutable(description: "\(path) is missing: run `swift build` before `swift test` (this test runs \(name) as a separate process)")
    }
    return path
}
