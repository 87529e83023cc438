import CoreMetrics
import Prometheus
import RegistryCore

/// The metrics backend of `registry serve`: a Prometheus collector registry of its own
/// (not the process-wide one), with RegistryCore's histogram buckets, rendered as the
/// Prometheus text format.
public struct PrometheusBackend: MetricsBackend {
    public let registry = PrometheusCollectorRegistry()
    public let factory: any MetricsFactory

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = RegistryMetrics.durationBuckets
        self.factory = factory
    }

    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
