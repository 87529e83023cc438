import RegistryCore
import ServiceLifecycle

/// The first service of the group, so the last one a graceful shutdown stops: it does
/// nothing until the group is cancelled, which is what happens when the graceful
/// shutdown has used up `shutdown_timeout`. Then every statement still waiting for
/// another connection's lock (another process's GC, a long transaction) gives up at
/// once, so requests and GC return long before the group's cancellation deadline
/// (whose expiry is a `fatalError`, before the database is closed).
struct LockWaitShutdownService: Service, CustomStringConvertible {
    /// What the service group logs for it. (Without it, service-lifecycle prints the
    /// struct by reflection, everything it holds included: milliseconds at startup.)
    var description: String { "lock waits at shutdown" }

    let registry: Registry

    func run() async throws {
        let registry = self.registry
        await withTaskCancellationHandler {
            // Returns at this service's turn in a graceful shutdown, or throws when cancelled.
            try? await gracefulShutdown()
        } onCancel: {
            registry.stopWaitingForLocks()
        }
    }
}
