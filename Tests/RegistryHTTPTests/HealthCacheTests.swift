import Foundation
import Hummingbird
import Logging
import RegistryCore
@testable import RegistryHTTP
import Testing
import TestSupport

/// `/readyz` is unauthenticated and its probe fsyncs a file: a "ready" result is
/// reused for a short window and concurrent callers share one probe.
@Suite struct HealthCacheTests {
    @Test func callsWithinTheWindowShareOneProbe() async throws {
        try await withOpenRegistry { registry in
            let controller = HealthController(registry: registry, cacheWindow: .seconds(600))
            #expect(await controller.readiness().status == .ok)
            #expect(await controller.readiness().status == .ok)
            #expect(controller.cache.probes == 1)

            let concurrent = HealthController(registry: registry, cacheWindow: .seconds(600))
            let statuses = await withTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<16 { group.addTask { await concurrent.readiness().status } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .ok } && statuses.count == 16)
            #expect(concurrent.cache.probes == 1, "concurrent callers share one probe")
        }
    }

    @Test func anExpiredWindowOrAFailureProbesAgain() async throws {
        try await withOpenRegistry { registry in
            let uncached = HealthController(registry: registry, cacheWindow: .zero)
            _ = await uncached.readiness()
            _ = await uncached.readiness()
            #expect(uncached.cache.probes == 2)

            let controller = HealthController(registry: registry, cacheWindow: .seconds(600))
            let database = registry.configuration.dataDirectory + "/registry.db"
            try FileManager.default.moveItem(atPath: database, toPath: database + ".aside")
            try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: false)
            let failing = await controller.readiness()
            try FileManager.default.removeItem(atPath: database)
            try FileManager.default.moveItem(atPath: database + ".aside", toPath: database)
            #expect(failing.status == .serviceUnavailable)
            #expect(await controller.readiness().status == .ok, "a failure is not reused: recovery shows at once")
            #expect(controller.cache.probes == 2)
        }
    }

    @Test func readOnlyModeSkipsTheWriteProbe() async throws {
        try await withOpenRegistry(configure: { $0.readOnly = true }) { registry in
            let result = await HealthController(registry: registry).probe()
            #expect(result.status == .ok)
            #expect(result.body.contains(#""storage":"skipped (read-only mode)""#), "\(result.body)")
        }
    }

    private func withOpenRegistry(
        configure: (inout RegistryConfiguration) -> Void = { _ in }, _ body: (Registry) async throws -> Void
    ) async throws {
        try await withDataDirectory { directory in
            var cfg = testConfiguration(directory)
            var logger = Logger(label: "stowage-health-tests")
            logger.logLevel = .error
            // Opened read-write first (creates the database), then as configured.
            try Registry.open(configuration: { var c = cfg; c.readOnly = false; return c }(), logger: logger).close()
            configure(&cfg)
            let registry = try Registry.open(configuration: cfg, logger: logger)
            defer { try? registry.close() }
            try await body(registry)
        }
    }
}
