import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The package root, from this file's path: `<root>/Tests/GarbageCollectionTests/Executables.swift`.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The built executable `name` in `.build/debug`; a missing one fails the test with
/// what to do about it.
func builtExecutable(_ name: String) throws -> String {
    let path = packageRoot.appendingPathComponent(".build/debug/\(name)").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw HarnessError("\(path) is missing: run `swift build` before `swift test` (this test runs \(name) as a separate process)")
    }
    return path
}

/// A child process this test started; only its own PID is ever signalled.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let stdoutFile: String
    private let stderrFile: String
    private var exitStatus: Int32?
    private var waiters: [CheckedContinuation<Int32, Never>] = []
    private let lock = NSLock()

    /// Starts `executable` with `arguments`; output goes to files (never a full pipe).
    /// `environment` adds to this process's.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-gc-proc-\(UUID().uuidString.prefix(8))").path
        stdoutFile = base + ".out"
        stderrFile = base + ".err"
        _ = FileManager.default.createFile(atPath: stdoutFile, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrFile, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutFile))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrFile))
        process.terminationHandler = { [weak self] process in self?.finished(process.terminationStatus) }
        try process.run()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: stdoutFile)
        try? FileManager.default.removeItem(atPath: stderrFile)
    }

    var pid: pid_t { process.processIdentifier }
    var stdout: String { (try? String(contentsOfFile: stdoutFile, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrFile, encoding: .utf8)) ?? "" }
    /// The signal that ended the process, if one did (after `wait()`).
    var signal: Int32? { process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil }
    var wasKilled: Bool { signal == SIGKILL }

    private func finished(_ status: Int32) {
        lock.lock()
        exitStatus = status
        let waiting = waiters
        waiters = []
        lock.unlock()
        for waiter in waiting { waiter.resume(returning: status) }
    }

    /// The exit status (or the signal number when killed), without blocking a thread.
    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            lock.lock()
            if let exitStatus {
                lock.unlock()
                continuation.resume(returning: exitStatus)
            } else {
                waiters.append(continuation)
                lock.unlock()
            }
        }
    }

    func kill9() {
        if process.isRunning { kill(pid, SIGKILL) }
    }

    /// Runs to completion.
    /// A crash is reported as status 128 + signal, as a shell would.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments)
        let status = await child.wait()
        return (child.signal.map { 128 + $0 } ?? status, child.stdout, child.stderr)
    }
}
