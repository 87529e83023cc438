import Logging
import ServiceLifecycle

/// The collector inside `registry serve`: a run every interval, stopped at a safe
/// point on graceful shutdown (a transaction in progress completes; the next does
/// not start). A run that finds another collector holding the lease is skipped.
public struct GarbageCollectionService: Service, CustomStringConvertible {
    /// What the service group logs for it. (Without it, service-lifecycle prints the
    /// struct by reflection, everything it holds included: milliseconds at startup.)
    public var description: String { "garbage collection" }

    let collector: GarbageCollector
    let interval: Duration
    let options: GCOptions
    let logger: Logger

    public init(collector: GarbageCollector, interval: Duration, options: GCOptions, logger: Logger) {
        self.collector = collector
        self.interval = interval
        var options = options
        options.trigger = .service
        self.options = options
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // Graceful shutdown does not cancel the task: without this, SIGTERM
                // waits out the whole interval and the server never stops.
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            await runOnce()
        }
    }

    func runOnce() async {
        do {
            _ = try await cancelWhenGracefulShutdown {
                try await collector.run(options)
            }
        } catch let error as GCError {
            logger.notice("garbage collection skipped", metadata: ["reason": "\(error)"])
        } catch is CancellationError {
            logger.info("garbage collection stopped for shutdown")
        } catch {
            logger.error("garbage collection failed", metadata: ["error": "\(error)"])
        }
    }
}
