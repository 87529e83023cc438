import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `registry healthcheck --url URL`: one GET over a plain socket, for container
/// HEALTHCHECKs in an image that has no curl. Exit 0 on 200, 1 otherwise.
struct Healthcheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "GET a URL (default the readiness endpoint) and exit 0 on 200, 1 otherwise: a HEALTHCHECK without curl.",
        discussion: "Plain http:// only; point it at the server's plain listener on the loopback address."
    )

    @Option(name: .long, help: "The URL to GET, http://HOST:PORT/PATH.")
    var url = "http://127.0.0.1:5000/readyz"

    @Option(name: .long, help: "Give up after this many seconds.")
    var timeout: Int = 5

    func run() throws {
        do {
            let target = try HealthcheckTarget(url)
            let status = try HealthcheckProbe.get(target, timeoutSeconds: max(1, timeout))
            guard status == 200 else {
                print("\(url): HTTP \(status)")
                throw ExitCode.failure
            }
            print("\(url): HTTP 200")
        } catch let error as HealthcheckError {
            FileHandle.standardError.write(Data("registry healthcheck: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

struct HealthcheckError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `http://host[:port]/path`, with `[v6]` hosts.
struct HealthcheckTarget {
    var host: String
    var port: String
    var path: String

    init(_ url: String) throws {
        guard url.hasPrefix("http://") else {
            throw HealthcheckError("only http:// URLs are supported (got \(url)); check the plain listener on the loopback address")
        }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            port = after.hasPrefix(":") ? String(after.dropFirst()) : "80"
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = String(authority[authority.index(after: colon)...])
        } else {
            host = String(authority)
            port = "80"
        }
        guard !host.isEmpty, let number = Int(port), (1...65535).contains(number) else {
            throw HealthcheckError("cannot read host and port from \(url)")
        }
    }
}

enum HealthcheckProbe {
    /// Connects, sends one GET, returns the status code of the response.
    static func get(_ target: HealthcheckTarget, timeoutSeconds: Int) throws -> Int {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(target.host, target.port, &hints, &list) == 0, let first = list else {
            throw HealthcheckError("cannot resolve \(target.host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw HealthcheckError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var limit = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        // With SO_SNDTIMEO set, a connect that takes longer fails with EINPROGRESS.
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            throw HealthcheckError("connect to \(target.host):\(target.port): \(String(cString: strerror(errno)))")
        }
        let hostHeader = target.host.contains(":") ? "[\(target.host)]:\(target.port)" : "\(target.host):\(target.port)"
        let request = Array("GET \(target.path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: registry-healthcheck\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HealthcheckError("send: \(String(cString: strerror(errno)))") }
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !received.contains(0x0A), received.count < 8192 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else {
                throw HealthcheckError(n == 0 ? "the server closed the connection without answering" : "no answer within \(timeoutSeconds) s")
            }
            received += buffer[..<n]
        }
        // "HTTP/1.1 200 OK"
        let statusLine = String(decoding: received.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
        let fields = statusLine.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/"), let status = Int(fields[1]) else {
            throw HealthcheckError("not an HTTP response: \(statusLine)")
        }
        return status
    }
}
