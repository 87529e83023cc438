/// The one place a `Duration` becomes a number: SQLite date arithmetic and busy
/// timeouts take seconds, reports and logs show milliseconds. (Metrics take the
/// `Duration` itself: swift-metrics' `Timer.record(duration:)`.)
extension Duration {
    /// In seconds, fractions included.
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }

    /// In milliseconds, fractions included.
    public var milliseconds: Double { seconds * 1000 }

    /// Milliseconds with three decimals (`12.345`), as the access log writes them.
    public var millisecondsText: String {
        let (whole, attoseconds) = components
        let micros = whole * 1_000_000 + attoseconds / 1_000_000_000_000
        let fraction = String(micros % 1000)
        return "\(micros / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
