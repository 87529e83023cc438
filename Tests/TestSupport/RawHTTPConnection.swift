import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A response read off the wire.
public struct RawHTTPResponse: CustomStringConvertible, Sendable {
    public var status: Int
    /// The status line and the header lines, as they came.
    public var head: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
    public var description: String {
        "HTTP \(status)\n" + headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n") + "\n\n" + text.prefix(2000)
    }
}

/// The tests' one raw HTTP/1.1 client: a blocking connection over a loopback socket,
/// for what a library client cannot do — send a body a byte at a time, hold it open,
/// break its framing, reset mid-body, pipeline requests, watch the server close.
/// Use it from a thread of its own (`onThread`, a `BackgroundJob`), never from the
/// concurrency pool. `@unchecked Sendable`: one thread uses it at a time, handed over
/// whole (its buffer and descriptor are never touched by two threads at once).
public final class RawHTTPConnection: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private let fd: Int32
    private var closed = false
    private var received: [UInt8] = []
    private var eof = false

    /// Connects to 127.0.0.1:`port`; sends and reads wait at most `timeout` seconds.
    public init(port: Int, timeout: TimeInterval = 60) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else {
            closed = true
            throw Failure(description: "socket() failed: errno \(errno)")
        }
        var time = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            // deinit runs after a throw from a fully initialized class: it must not close
            // the descriptor again (by then another thread may own that number).
            closed = true
            Glibc.close(fd)
            throw Failure(description: "connect to 127.0.0.1:\(port) failed: \(String(cString: strerror(code)))")
        }
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    // MARK: Sending

    /// The request line and headers, with `Host`, `Connection: close` and a User-Agent.
    public func sendHead(_ method: String, _ path: String, headers: [(String, String)]) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nUser-Agent: stowage-tests\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try send(head + "\r\n")
    }

    /// The request line, `Host` and `headers` (each `Name: value`), and the blank line;
    /// the connection stays open for more requests.
    public func sendHead(_ method: String, _ path: String, _ headers: [String] = []) throws {
        try send("\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n")
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try send($0) }
    }

    public func send(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "send failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// One chunk of a chunked body.
    public func sendChunk(_ bytes: [UInt8]) throws {
        try send(String(bytes.count, radix: 16) + "\r\n")
        try send(bytes)
        try send("\r\n")
    }

    /// Half-closes: the server sees the end of the request stream.
    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Closes the connection with a reset (SO_LINGER 0), as a killed client's kernel may.
    public func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        shutdown(fd, Int32(SHUT_RDWR))
    }

    // MARK: Receiving

    private func fill() throws {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if n < 0 {
            if errno == EINTR { return }
            throw Failure(description: "no data within the timeout (errno \(errno)) after \(received.count) bytes")
        }
        if n == 0 { eof = true; return }
        received.append(contentsOf: buffer[0..<n])
    }

    /// Reads until at least `count` bytes have come (or the connection ends); returns them.
    public func readSome(_ count: Int) throws -> [UInt8] {
        while received.count < count, !eof { try fill() }
        defer { received = [] }
        return received
    }

    /// Whether the server closes the connection within `seconds` (reading and keeping
    /// whatever it sends first); the bytes it sent before closing, as text.
    public func waitForClose(seconds: Double) -> (closed: Bool, received: String) {
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, !eof {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n == 0 || (n < 0 && errno == ECONNRESET) { eof = true; break }
            if n < 0 { break }
            received += buffer[0..<n]
        }
        return (eof, String(decoding: received, as: UTF8.self))
    }

    /// Reads one response: the head, then a body framed by Content-Length, chunked
    /// encoding, or the end of the connection (none for HEAD, 1xx, 204 and 304).
    /// Bytes past it stay for the next response (pipelined requests).
    public func readResponse(method: String = "GET") throws -> RawHTTPResponse {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            if let range = received.firstRange(of: separator) { headEnd = range.lowerBound; break }
            if eof { throw Failure(description: "connection closed before a complete response head (got \(received.count) bytes)") }
            try fill()
        }
        let head = String(decoding: received[0..<headEnd!], as: UTF8.self)
        received.removeFirst(headEnd! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure(description: "bad response: \(head)") }
        let headers: [(name: String, value: String)] = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = RawHTTPResponse(status: status, head: head, headers: headers, body: [])
        if method == "HEAD" || status == 204 || status == 304 || (100..<200).contains(status) { return response }
        if let length = response.header("Content-Length").flatMap(Int.init) {
            while received.count < length {
                if eof { throw Failure(description: "connection closed after \(received.count) of \(length) body bytes") }
                try fill()
            }
            response.body = Array(received[0..<length])
            received.removeFirst(length)
        } else if response.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            response.body = try readChunked()
        } else {
            while !eof { try fill() }
            response.body = received
            received = []
        }
        return response
    }

    private func readLine() throws -> String {
        let crlf: [UInt8] = [13, 10]
        while true {
            if let range = received.firstRange(of: crlf) {
                let line = String(decoding: received[0..<range.lowerBound], as: UTF8.self)
                received.removeFirst(range.upperBound)
                return line
            }
            if eof { throw Failure(description: "connection closed inside a chunked body") }
            try fill()
        }
    }

    private func readChunked() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeText = try readLine().split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw Failure(description: "bad chunk size '\(sizeText)'")
            }
            if size == 0 {
                while try !readLine().isEmpty {}
                return body
            }
            while received.count < size + 2 {
                if eof { throw Failure(description: "connection closed inside a chunk") }
                try fill()
            }
            body.append(contentsOf: received[0..<size])
            received.removeFirst(size + 2)
        }
    }
}

public enum HTTP {
    /// One request on its own connection. A body gets a Content-Length header.
    public static func request(
        _ method: String, port: Int, path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: TimeInterval = 60
    ) throws -> RawHTTPResponse {
        let connection = try RawHTTPConnection(port: port, timeout: timeout)
        defer { connection.close() }
        var headers = headers
        if let body { headers.append(("Content-Length", String(body.count))) }
        else if method == "PUT" || method == "POST" || method == "PATCH" { headers.append(("Content-Length", "0")) }
        try connection.sendHead(method, path, headers: headers)
        if let body, !body.isEmpty { try connection.send(body) }
        return try connection.readResponse(method: method)
    }
}

/// Runs blocking work on a thread of its own, so that the server's tasks keep the
/// cooperative pool (it has one thread per core and does not grow).
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
