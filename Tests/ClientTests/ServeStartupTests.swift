import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// What a newcomer sees when `registry serve` starts: a busy port is one clear line
/// and a non-zero exit; the startup line shows durations as the configuration takes them.
extension ClientTests {
    @Suite struct ServeStartupTests {
        /// A socket listening on a free loopback port, kept open until `close`.
        private final class Listener {
            let fd: Int32
            let port: Int

            init() throws {
                let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let bound = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard socketFD >= 0, bound == 0, listen(socketFD, 1) == 0 else {
                    Glibc.close(socketFD)
                    throw ClientTestError("cannot listen: errno \(errno)")
                }
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                _ = withUnsafeMutablePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
                }
                fd = socketFD
                port = Int(UInt16(bigEndian: address.sin_port))
            }

            deinit { Glibc.close(fd) }
        }

        @Test func aBusyPortIsOneClearErrorAndANonZeroExit() throws {
            let directory = try TemporaryDirectory("busy-port")
            defer { directory.remove() }
            let taken = try Listener()
            let result = try withExtendedLifetime(taken) {
                try runExecutable(RegistryProcess.executablePath, named: "registry",
                                  ["serve", "--listen", "127.0.0.1:\(taken.port)", "--data-dir", try directory.sub("data")], timeout: 60)
            }
            #expect(result.status != 0, "\(result.output)")
            #expect(result.stderr.contains("cannot listen on 127.0.0.1:\(taken.port): address already in use"), "\(result.output)")
            #expect(!result.stderr.contains("bind(descriptor") && !result.stderr.contains("shutdown was not clean"), "\(result.output)")
        }

        @Test func theStartupLineShowsDurationsAsTheConfigurationTakesThem() throws {
            let fixture = try RegistryFixture("startup-line") { _ in ["--gc-interval", "10m", "--gc-delay", "90s"] }
            defer { fixture.tearDown() }
            let log = fixture.registry.log()
            #expect(log.contains("gc=every 10m, delay 90s"), "\(log)")
        }
    }
}
