import Logging
import ServiceLifecycle

/// Inside `registry serve`: flushes recorded pulls every second and applies the
/// audit retention hourly. On shutdown it flushes once more. It also closes the files
/// of upload sessions left idle (`Registry.evictIdleUploadSessions`), every second.
public struct AuditService: Service, CustomStringConvertible {
    /// What the service group logs for it. (Without it, service-lifecycle prints the
    /// struct by reflection, everything it holds included: milliseconds at startup.)
    public var description: String { "audit flush" }

    let registry: Registry
    let logger: Logger
    let flushInterval: Duration
    let pruneInterval: Duration

    public init(registry: Registry, logger: Logger, flushInterval: Duration = .seconds(1), pruneInterval: Duration = .seconds(3600)) {
        self.registry = registry
        self.logger = logger
        self.flushInterval = flushInterval
        self.pruneInterval = pruneInterval
    }

    public func run() async throws {
        var sincePrune = Duration.zero
        try? await prune()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: flushInterval)
            await flush()
            await registry.evictIdleUploadSessions()
            sincePrune += flushInterval
            if sincePrune >= pruneInterval {
                sincePrune = .zero
                try? await prune()
            }
        }
        await flush()
    }

    private func flush() async {
        do {
            try await registry.pulls.flush()
        } catch {
            logger.warning("could not write pull records; will retry", metadata: ["error": "\(error)"])
        }
    }

    private func prune() async throws {
        let removed = try await registry.pruneAuditEvents()
        if removed > 0 { logger.info("audit retention applied", metadata: ["deleted": "\(removed)"]) }
    }
}
