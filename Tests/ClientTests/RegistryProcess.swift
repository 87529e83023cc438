import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// The root of every real-client and crash test. Serialized: these tests spawn
/// servers and heavy clients, and the crash tests measure what a SIGKILL leaves
/// behind, which is easier to reason about without other suites competing.
@Suite(.serialized, .timeLimit(.minutes(10)))
enum ClientTests {}

/// A failure of the harness or of a subprocess, with everything needed to see why.
struct ClientTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Picks a loopback port that is free right now: bind 127.0.0.1:0, read the port, close.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ClientTestError("socket() failed: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw ClientTestError("bind(127.0.0.1:0) failed: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw ClientTestError("getsockname failed: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The built `registry` executable run as a separate process on a loopback port
/// with its own data directory. Only the PID this object started is ever signalled.
final class RegistryProcess {
    static var executablePath: String { packageRoot.appendingPathComponent(".build/debug/registry").path }

    let dataDirectory: String
    let logPath: String
    /// More `registry serve` arguments (e.g. `--config`, `--htpasswd`).
    let arguments: [String]
    /// Whether the server answers on `port`; nil: plain-HTTP GET /v2/ answers 200 or 401.
    let ready: ((Int) -> Bool)?
    private(set) var port: Int
    private var process: SpawnedProcess?

    var pid: pid_t? { process?.pid }
    var hostPort: String { "127.0.0.1:\(port)" }

    /// Starts a server on a fresh port with `dataDirectory` and waits until GET /v2/ answers
    /// 200 (or 401, when `arguments` turn on access control).
    init(dataDirectory: String, logPath: String, arguments: [String] = [], ready: ((Int) -> Bool)? = nil) throws {
        self.dataDirectory = dataDirectory
        self.arguments = arguments
        self.ready = ready
        self.logPath = logPath
        port = 0
        guard FileManager.default.isExecutableFile(atPath: Self.executablePath) else {
            throw ClientTestError("""
                the registry executable is missing at \(Self.executablePath). \
                Run `swift build` in \(packageRoot.path) before `swift test`; these tests drive the built binary.
                """)
        }
        // A port picked free can be taken by someone else before the server binds it: retry.
        var lastError: (any Error)?
        for _ in 0..<5 {
            port = try freeLoopbackPort()
            do {
                try start()
                return
            } catch {
                lastError = error
                if log().lowercased().contains("address already in use") { continue }
                throw error
            }
        }
        throw lastError ?? ClientTestError("could not start the registry")
    }

    /// Starts the server (again) on the same port and data directory.
    func start() throws {
        precondition(process == nil || process?.isRunning == false, "the registry is already running")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)  // each start has a log of its own
        process = try SpawnedProcess(
            Self.executablePath, ["serve", "--listen", hostPort, "--data-dir", dataDirectory] + arguments,
            environment: SpawnedProcess.environment(), stdout: logPath, stderr: logPath)
        try waitUntilReady()
    }

    /// Polls GET /v2/ until it answers 200; fails early, with the log, if the process died.
    func waitUntilReady(timeout: TimeInterval = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let process, process.isRunning else {
                throw ClientTestError("the registry exited before it was ready (status \(process?.status ?? -1)); log:\n\(log())")
            }
            if let ready {
                if ready(port) { return }
            } else if let response = try? HTTP.request("GET", port: port, path: "/v2/", timeout: 2), [200, 401].contains(response.status) {
                return
            }
            usleep(100_000)
        }
        throw ClientTestError("the registry did not answer GET /v2/ with 200 within \(Int(timeout)) s; log:\n\(log())")
    }

    /// SIGTERM, as systemd or docker stop would send. A server that has not exited
    /// gracefully within 10 s is killed and the stop fails: an operator would notice.
    func stop() throws {
        guard let process, process.isRunning else { return }
        process.signal(SIGTERM)
        if process.waitBlocking(timeout: 10) == nil {
            process.signal(SIGKILL)
            process.waitBlocking(timeout: 10)
            throw ClientTestError("the registry did not exit within 10 s of SIGTERM (killed); log:\n\(log())")
        }
    }

    /// SIGKILL: the server gets no chance to finish anything.
    func kill9() {
        guard let process, process.isRunning else { return }
        process.signal(SIGKILL)
        process.waitBlocking(timeout: 10)
    }

    /// SIGKILL, then start again on the same data directory and port.
    func crashAndRestart() throws {
        kill9()
        try start()
    }

    /// Graceful stop, then start again on the same data directory and port.
    func restart() throws {
        try stop()
        try start()
    }

    /// The exit status once the process has ended; nil while it runs.
    var exitStatus: Int32? {
        process?.status
    }

    func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "(no log)"
    }

    deinit { kill9() }
}

/// One test's world: a temp dir, a running registry on a fresh data dir inside it,
/// and teardown that kills only that server and removes the directory.
final class RegistryFixture {
    let directory: TemporaryDirectory
    let registry: RegistryProcess

    /// `serveArguments` may write files (a config, an htpasswd file) into the test's
    /// directory and returns more `registry serve` arguments.
    init(_ label: String, serveArguments: (TemporaryDirectory) throws -> [String] = { _ in [] }, ready: ((Int) -> Bool)? = nil) throws {
        directory = try TemporaryDirectory(label)
        do {
            registry = try RegistryProcess(dataDirectory: try directory.sub("data"), logPath: "\(directory.path)/registry.log",
                                           arguments: try serveArguments(directory), ready: ready)
        } catch {
            directory.remove()
            throw error
        }
    }

    var port: Int { registry.port }
    var hostPort: String { registry.hostPort }
    var dataDirectory: String { registry.dataDirectory }

    func tearDown() {
        registry.kill9()
        directory.remove()
    }
}

// MARK: Subprocesses

/// The Debian package that provides each tool the tests drive.
let debianPackage: [String: String] = [
    "skopeo": "skopeo", "buildah": "buildah", "podman": "podman", "curl": "curl", "sqlite3": "sqlite3", "openssl": "openssl",
]

/// The tool's absolute path, or a failure naming the apt package to install.
func requireTool(_ tool: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(tool)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    let package = debianPackage[tool] ?? tool
    throw ClientTestError("""
        '\(tool)' is not installed: this test needs the Debian package '\(package)' \
        (apt-get install \(package); scripts/test installs it)
        """)
}

struct ToolResult {
    let command: String
    let status: Int32
    let stdout: String
    let stderr: String
    var stdoutBytes: [UInt8]

    var succeeded: Bool { status == 0 }
    var output: String { "$ \(command)\n[exit \(status)]\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)" }
}

/// Runs a tool to completion and throws (failing the test) on a non-zero exit, with
/// the command and its whole output in the failure.
@discardableResult
func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 300) throws -> ToolResult {
    let result = try runAllowingFailure(tool, arguments, environment: environment, timeout: timeout)
    guard result.succeeded else { throw ClientTestError("command failed:\n\(result.output)") }
    return result
}

/// Runs a tool to completion and returns its status and output, whatever the status.
func runAllowingFailure(_ tool: String, _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 300) throws -> ToolResult {
    try runExecutable(try requireTool(tool), named: tool, arguments, environment: environment, timeout: timeout)
}

/// Runs the executable at `executable` to completion (`name` is how the command is shown)
/// and returns its status and output, whatever the status.
func runExecutable(
    _ executable: String, named name: String, _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 300
) throws -> ToolResult {
    let command = ([name] + arguments).map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
    let child = try ChildProcess(executable, arguments, environment: environment)
    let timedOut = !child.waitBlocking(timeout: timeout)
    if timedOut {
        child.kill9()
        _ = child.waitBlocking(timeout: 10)
    }
    let stdout = child.stdoutBytes
    let result = ToolResult(
        command: command, status: child.status ?? -1,
        stdout: String(decoding: stdout, as: UTF8.self), stderr: child.stderr, stdoutBytes: stdout)
    if timedOut { throw ClientTestError("command timed out after \(Int(timeout)) s and was killed:\n\(result.output)") }
    return result
}

// MARK: Background work

/// A value shared between the test and its background jobs.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    var current: Value { withLock { $0 } }
}

/// Runs `body` on its own thread (blocking socket I/O stays off the test's thread);
/// `join()` waits for it and returns its result.
final class BackgroundJob<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, any Error>?

    init(_ body: @escaping @Sendable () throws -> T) {
        let thread = Thread { [self] in
            result = Result { try body() }
            done.signal()
        }
        thread.start()
    }

    func join(timeout: TimeInterval = 120) throws -> T {
        guard done.wait(timeout: .now() + timeout) == .success else {
            throw ClientTestError("a background job did not finish within \(Int(timeout)) s")
        }
        return try result!.get()
    }
}
