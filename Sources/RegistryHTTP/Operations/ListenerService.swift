import Foundation
import NIOCore
import ServiceLifecycle
import Synchronization

/// A listener's `Application`, run so that failing to open its socket (the port is
/// taken, the address is not local, a port below 1024 without the right) is a
/// `ListenError` naming the address: NIO's error names only the system call.
struct ListenerService: Service, CustomStringConvertible {
    /// What the service group logs for it. (Without it, service-lifecycle prints the
    /// struct by reflection, everything it holds included: milliseconds at startup.)
    var description: String { "HTTP listener" }

    /// Set by the application's `onServerRunning`: from then on, errors are the server's own.
    final class Started: Sendable {
        private let flag = Atomic(false)
        func set() { flag.store(true, ordering: .relaxed) }
        var isSet: Bool { flag.load(ordering: .relaxed) }
    }

    let address: String
    let started: Started
    let application: any Service

    func run() async throws {
        do {
            try await application.run()
        } catch let error as IOError where !started.isSet {
            throw ListenError(address: address, reason: String(cString: strerror(error.errnoCode)).lowercased())
        }
    }
}

/// `cannot listen on 127.0.0.1:5000: address already in use`.
public struct ListenError: Error, CustomStringConvertible {
    public let address: String
    public let reason: String

    public var description: String { "cannot listen on \(address): \(reason)" }
}
