import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn(3)`, for every test that runs a program.
///
/// Not Foundation's `Process`: on Linux (swift-corelibs-foundation in Swift 6.3.1) its
/// `run()` over-reads `readdir(3)` records of `/proc/self/fd` and crashes the whole test
/// process now and then when many descriptors are open (swiftlang/swift-corelibs-foundation
/// PR #5472) — the SIGSEGV in memcpy our CI hit. The child gets default signal
/// handlers and an empty signal mask (so SIGTERM reaches a server), standard input from
/// `/dev/null` or a descriptor, output appended to files (never a pipe that can fill),
/// and no descriptor of ours beyond 0–2. Only this PID is ever waited for or signalled.
public final class SpawnedProcess: Sendable {
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    public let pid: pid_t
    private let ended = Mutex<Termination?>(nil)

    /// Starts `executable` with `arguments` and exactly `environment`. `stdout` and
    /// `stderr` are files appended to (created when missing; the same path for both is
    /// one file); `stdin` is a descriptor to read from, or `/dev/null`.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String],
        stdout: String, stderr: String, stdin: Int32? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin {
            posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        let output = O_WRONLY | O_CREAT | O_APPEND
        posix_spawn_file_actions_addopen(&actions, 1, stdout, output, 0o644)
        if stderr == stdout {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderr, output, 0o644)
        }
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw SpawnFailure(description: "cannot start \(executable): \(String(cString: strerror(status)))")
        }
        self.pid = pid
    }

    /// This process's environment without its STOWAGE_* variables (a developer's shell
    /// may have some: a test says what it sets), plus `extra`.
    public static func environment(adding extra: [String: String] = [:]) -> [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STOWAGE_") }.merging(extra) { _, new in new }
    }

    /// How the process ended; nil while it runs. Reaps it once it has ended.
    public var termination: Termination? {
        ended.withLock { ended in
            if ended == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    let signal = status & 0x7f
                    ended = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
                }
            }
            return ended
        }
    }

    public var isRunning: Bool { termination == nil }

    /// The exit status, or 128 + the signal that ended it (as a shell reports it); nil while it runs.
    public var status: Int32? {
        switch termination {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        case nil: nil
        }
    }

    /// Waits for the end without holding a thread of the concurrency pool.
    public func wait() async -> Termination {
        while true {
            if let termination { return termination }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits up to `timeout` without holding a thread of the concurrency pool; nil if
    /// the process still runs.
    public func wait(timeout: Duration) async -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let termination { return termination }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return termination
    }

    /// Waits on this thread (for tests that run on threads of their own) up to `timeout`.
    @discardableResult
    public func waitBlocking(timeout: TimeInterval) -> Termination? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let termination { return termination }
            usleep(5_000)
        }
        return termination
    }

    /// Sends `signal` if the process has not ended (an ended one's PID may be reused).
    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34), which the Glibc module
    /// does not import: looked up once.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: CloseFrom? =
        dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: CloseFrom.self) }
}

public struct SpawnFailure: Error, CustomStringConvertible {
    public let description: String
}
