import Foundation
import RegistryCore

#if canImport(Glibc)
import Glibc
#endif

/// How the maintenance commands (`registry check`, `backup`, `registry-gc`) talk to
/// the operator: a progress line on a terminal (none with --json or when standard
/// error is not a terminal), cleared at the end; then the report as JSON on standard
/// output with --json, or its summary.
public enum CommandOutput {
    /// Runs `body` with a progress handler when standard error is a terminal and the
    /// output is not JSON; the progress line is cleared afterwards, whatever happens.
    public static func withProgress<T>(unless json: Bool, _ body: (ProgressHandler?) async throws -> T) async throws -> T {
        let onTerminal = isatty(2) != 0 && !json
        defer { if onTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
        return try await body(onTerminal ? show : nil)
    }

    @Sendable private static func show(_ message: String) async {
        FileHandle.standardError.write(Data("\r\u{1B}[K\(message)".utf8))
    }

    /// The report as pretty, key-sorted JSON with `json`, else the summary.
    public static func print(_ report: some Encodable, json: Bool, summary: @autoclosure () -> String) throws {
        guard json else { return Swift.print(summary()) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        Swift.print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }
}
