import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A response read off the wire.
struct HTTPResponse: CustomStringConvertible {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var text: String { String(decoding: body, as: UTF8.self) }
    var description: String {
        "HTTP \(status)\n" + headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n") + "\n\n" + text.prefix(2000)
    }
}

/// A tiny blocking HTTP/1.1 client over a raw loopback socket: full control over
/// when each byte of a body is sent, which the crash tests need (kill the server
/// mid-body), and no dependence on URLSession.
final class HTTPConnection {
    private let fd: Int32
    private var closed = false

    init(port: Int, timeout: TimeInterval = 60) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else {
            closed = true
            throw ClientTestError("socket() failed: errno \(errno)")
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
            throw ClientTestError("connect to 127.0.0.1:\(port) failed: \(String(cString: strerror(code)))")
        }
    }

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    /// Sends the request line and headers. `Host` and `Connection: close` are added.
    func sendHead(_ method: String, _ path: String, headers: [(String, String)]) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nUser-Agent: stowage-client-tests\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try send($0) }
    }

    func send(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw ClientTestError("send failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    private var received: [UInt8] = []
    private var eof = false

    private func fill() throws {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if n < 0 {
            if errno == EINTR { return }
            throw ClientTestError("recv failed: \(String(cString: strerror(errno)))")
        }
        if n == 0 { eof = true; return }
        received.append(contentsOf: buffer[0..<n])
    }

    /// Reads one response: the head, then a body framed by Content-Length, chunked
    /// encoding, or the end of the connection.
    func readResponse(method: String) throws -> HTTPResponse {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            if let range = received.firstRange(of: separator) { headEnd = range.lowerBound; break }
            if eof { throw ClientTestError("connection closed before a complete response head (got \(received.count) bytes)") }
            try fill()
        }
        let head = String(decoding: received[0..<headEnd!], as: UTF8.self)
        received.removeFirst(headEnd! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ClientTestError("bad status line in:\n\(head)") }
        let headers: [(name: String, value: String)] = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = HTTPResponse(status: status, headers: headers, body: [])
        if method == "HEAD" || status == 204 || status == 304 || (100..<200).contains(status) { return response }
        if let length = response.header("Content-Length").flatMap(Int.init) {
            while received.count < length {
                if eof { throw ClientTestError("connection closed after \(received.count) of \(length) body bytes") }
                try fill()
            }
            response.body = Array(received[0..<length])
        } else if response.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            response.body = try readChunked()
        } else {
            while !eof { try fill() }
            response.body = received
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
            if eof { throw ClientTestError("connection closed inside a chunked body") }
            try fill()
        }
    }

    private func readChunked() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeText = try readLine().split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw ClientTestError("bad chunk size '\(sizeText)'")
            }
            if size == 0 {
                while try !readLine().isEmpty {}
                return body
            }
            while received.count < size + 2 {
                if eof { throw ClientTestError("connection closed inside a chunk") }
                try fill()
            }
            body.append(contentsOf: received[0..<size])
            received.removeFirst(size + 2)
        }
    }
}

enum HTTP {
    /// One request on its own connection. A body gets a Content-Length header.
    static func request(
        _ method: String, port: Int, path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: TimeInterval = 60
    ) throws -> HTTPResponse {
        let connection = try HTTPConnection(port: port, timeout: timeout)
        defer { connection.close() }
        var headers = headers
        if let body { headers.append(("Content-Length", String(body.count))) }
        else if method == "PUT" || method == "POST" || method == "PATCH" { headers.append(("Content-Length", "0")) }
        try connection.sendHead(method, path, headers: headers)
        if let body, !body.isEmpty { try connection.send(body) }
        return try connection.readResponse(method: method)
    }
}
