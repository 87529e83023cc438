import CoreMetrics

/// Where a registry's metrics are recorded and how their page is rendered. The
/// executable chooses it: `registry serve` gives each registry a Prometheus collector
/// registry of its own (`PrometheusBackend` in RegistryCLI), so two registries in one
/// process never mix their numbers; commands that serve no page (`registry-gc`,
/// `check`, `backup`) record nowhere.
public protocol MetricsBackend: Sendable {
    /// Makes the swift-metrics handles RegistryCore records through.
    var factory: any MetricsFactory { get }
    /// The metrics page, in the backend's text format.
    func exposition() -> [UInt8]
}

/// Records nothing; its page is empty.
public struct DiscardedMetrics: MetricsBackend {
    public init() {}
    public var factory: any MetricsFactory { NOOPMetricsHandler.instance }
    public func exposition() -> [UInt8] { [] }
}
