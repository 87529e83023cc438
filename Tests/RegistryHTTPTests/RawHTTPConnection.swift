import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 connection over a raw loopback socket, for the tests that need to
/// control when each byte of a body is sent (a body held open, a chunked body that never
/// ends). Use it from `onThread`, never from the cooperative pool.
final class RawHTTPConnection: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    struct Response {
        var status: Int
        var head: String
        var body: String
        /// The body as it came, for binary bodies.
        var bytes: [UInt8] = []

        func header(_ name: String) -> String? {
            for line in head.components(separatedBy: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                if line[..<colon].lowercased() == name.lowercased() {
                    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
    }

    private let fd: Int32
    /// What was read past the last response.
    private var leftover: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; reads wait at most `timeout` seconds.
    init(port: Int, timeout: Int = 20) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw Failure(description: "connect to port \(port): errno \(errno)")
        }
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Sends a request line, `Host` and `headers` (each `Name: value`), and the blank line.
    func sendHead(_ method: String, _ path: String, _ headers: [String] = []) throws {
        try send("\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n")
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            offset += n
        }
    }

    /// Closes the sending side: the server reads end-of-file, and can still answer.
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Closes the connection with a reset (SO_LINGER 0), as a killed client's kernel may.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Whether the server closes the connection within `seconds` (reading and dropping
    /// whatever it sends first); the bytes it sent before closing.
    func waitForClose(seconds: Double) -> (closed: Bool, received: String) {
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n == 0 { return (true, String(decoding: received, as: UTF8.self)) }
            if n < 0 {
                if errno == ECONNRESET { return (true, String(decoding: received, as: UTF8.self)) }
                break
            }
            received += buffer[0..<n]
        }
        return (false, String(decoding: received, as: UTF8.self))
    }

    /// Sends one chunk of a `Transfer-Encoding: chunked` body.
    func sendChunk(_ bytes: [UInt8]) throws {
        try send(String(bytes.count, radix: 16) + "\r\n")
        try send(bytes)
        try send("\r\n")
    }

    /// Reads until at least `count` bytes have come (or the connection ends); returns them.
    func readSome(_ count: Int) throws -> [UInt8] {
        var received = leftover
        leftover = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while received.count < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 { throw Failure(description: "no data within the timeout (errno \(errno))") }
            if n == 0 { break }
            received += buffer[0..<n]
        }
        return received
    }

    /// Reads the response head and, when it has a Content-Length, the body. Fails when
    /// nothing arrives within the timeout (the server is waiting for more of the request).
    func readResponse() throws -> Response {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        func fill() throws {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 { throw Failure(description: "no response within the timeout (errno \(errno))") }
            if n == 0 { throw Failure(description: "connection closed after \(received.count) bytes") }
            received += buffer[0..<n]
        }
        let separator = Array("\r\n\r\n".utf8)
        received = leftover
        leftover = []
        while received.firstRange(of: separator) == nil { try fill() }
        let end = received.firstRange(of: separator)!
        let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
        let statusLine = head.prefix { $0 != "\r" }.split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure(description: "bad response: \(head)") }
        var response = Response(status: status, head: head, body: "")
        if let length = response.header("Content-Length").flatMap(Int.init) {
            while received.count - end.upperBound < length { try fill() }
            let body = received[end.upperBound...]
            // Text only for bodies a test reads as text (decoding megabytes is slow in a debug build).
            response.body = length <= 1 << 20 ? String(decoding: body.prefix(length), as: UTF8.self) : ""
            response.bytes = Array(body.prefix(length))
            // Bytes past this response belong to the next one (pipelined requests).
            leftover = Array(body.dropFirst(length))
        }
        return response
    }
}

/// Runs blocking work on a thread of its own, so that the server's tasks keep the
/// cooperative pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
