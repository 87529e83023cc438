import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process a test started, with its output in files (never a full pipe);
/// only its own PID is ever signalled.
public final class ChildProcess: Sendable {
    private let spawned: SpawnedProcess
    private let stdoutFile: String
    private let stderrFile: String

    /// Starts `executable` with `arguments`; `environment` adds to this process's
    /// (whose own STOWAGE_* variables are left out).
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-proc-\(UUID().uuidString.prefix(8))").path
        stdoutFile = base + ".out"
        stderrFile = base + ".err"
        spawned = try SpawnedProcess(executable, arguments, environment: SpawnedProcess.environment(adding: environment),
                                     stdout: stdoutFile, stderr: stderrFile)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: stdoutFile)
        try? FileManager.default.removeItem(atPath: stderrFile)
    }

    public var pid: pid_t { spawned.pid }
    public var isRunning: Bool { spawned.isRunning }
    public var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    public var stdoutBytes: [UInt8] { FileManager.default.contents(atPath: stdoutFile).map { [UInt8]($0) } ?? [] }
    public var stderr: String { (try? String(contentsOfFile: stderrFile, encoding: .utf8)) ?? "" }
    /// The signal that ended the process, if one did (after `wait()`).
    public var signal: Int32? {
        if case .signaled(let signal)? = spawned.termination { return signal }
        return nil
    }
    public var wasKilled: Bool { signal == SIGKILL }

    /// The exit status (or the signal number when killed), without blocking a thread.
    public func wait() async -> Int32 {
        switch await spawned.wait() {
        case .exited(let code): code
        case .signaled(let signal): signal
        }
    }

    public func kill9() {
        spawned.signal(SIGKILL)
    }

    public func terminate() {
        spawned.signal(SIGTERM)
    }

    /// Waits on this thread up to `timeout`; false if the process still runs.
    public func waitBlocking(timeout: TimeInterval) -> Bool {
        spawned.waitBlocking(timeout: timeout) != nil
    }

    /// The exit status, or 128 + the signal that ended it (as a shell reports it); nil while it runs.
    public var status: Int32? { spawned.status }

    /// Runs to completion, without blocking a thread of the concurrency pool (the
    /// in-process servers of other tests share its one thread per core). A crash is
    /// reported as status 128 + signal, as a shell would; past `timeout` the child is
    /// killed and the run fails.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(120)
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, environment: environment)
        guard await child.spawned.wait(timeout: timeout) != nil else {
            child.kill9()
            throw SpawnFailure(description: "\(executable) \(arguments.joined(separator: " ")) did not exit within \(timeout) and was killed")
        }
        return (child.status ?? -1, child.stdout, child.stderr)
    }
}
