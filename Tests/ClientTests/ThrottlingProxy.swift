import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP proxy in front of the registry that forwards what clients send at a
/// limited total rate (shared by all connections), so that a push takes as long as a
/// test needs — long enough, say, for a short-lived token to expire in the middle.
/// Responses pass unthrottled and are counted: `bytesToClients` is what the registry
/// sent on the wire (heads and bodies), whatever the registry itself reports.
/// It listens on 127.0.0.1 only and stops with `stop()`.
final class ThrottlingProxy: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let targetPort: Int
    /// Nil: requests are not throttled either, only responses counted.
    private let bytesPerSecond: Double?
    private let nextSlot = Locked(Date())
    private let stopped = Locked(false)
    private let sentToClients = Locked(0)

    init(targetPort: Int, bytesPerSecond: Int? = nil) throws {
        self.targetPort = targetPort
        self.bytesPerSecond = bytesPerSecond.map(Double.init)
        port = try freeLoopbackPort()
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        // A throwing init of a class still runs deinit (and so stop()): mark it stopped
        // first so that no descriptor is closed twice.
        guard listener >= 0 else {
            stopped.withLock { $0 = true }
            throw ClientTestError("socket() failed: errno \(errno)")
        }
        var reuse: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 64) == 0 else {
            stopped.withLock { $0 = true }
            close(listener)
            throw ClientTestError("the proxy cannot listen on 127.0.0.1:\(port): errno \(errno)")
        }
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var hostPort: String { "127.0.0.1:\(port)" }

    /// Every byte the registry has sent through the proxy so far.
    var bytesToClients: Int { sentToClients.current }

    func stop() {
        guard !stopped.withLock({ let was = $0; $0 = true; return was }) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while !stopped.current {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(targetPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard server >= 0, connected == 0 else {
                close(client)
                if server >= 0 { close(server) }
                continue
            }
            let open = Locked(2)
            let finish: @Sendable () -> Void = {
                if open.withLock({ $0 -= 1; return $0 }) == 0 {
                    close(client)
                    close(server)
                }
            }
            Thread { [self] in pump(from: client, to: server, throttled: true); finish() }.start()
            Thread { [self] in pump(from: server, to: client, counted: true); finish() }.start()
        }
    }

    /// Copies until end of stream, then half-closes the other side.
    private func pump(from source: Int32, to destination: Int32, throttled: Bool = false, counted: Bool = false) {
        var buffer = [UInt8](repeating: 0, count: 8 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress!, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            if throttled { waitForSlot(bytes: n) }
            if counted { sentToClients.withLock { $0 += n } }
            var offset = 0
            while offset < n {
                let sent = buffer.withUnsafeBytes { Glibc.send(destination, $0.baseAddress! + offset, n - offset, Int32(MSG_NOSIGNAL)) }
                if sent < 0, errno == EINTR { continue }
                guard sent > 0 else { shutdown(source, Int32(SHUT_RDWR)); return }
                offset += sent
            }
        }
        shutdown(destination, Int32(SHUT_WR))
    }

    /// Books the next `bytes / rate` seconds of the shared budget and sleeps until they end.
    private func waitForSlot(bytes: Int) {
        guard let bytesPerSecond else { return }
        let now = Date()
        let end = nextSlot.withLock { next -> Date in
            let start = max(now, next)
            next = start.addingTimeInterval(Double(bytes) / bytesPerSecond)
            return next
        }
        let delay = end.timeIntervalSince(now)
        if delay > 0 { usleep(useconds_t(delay * 1_000_000)) }
    }
}
