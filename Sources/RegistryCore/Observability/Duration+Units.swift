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

    /// Seconds with three decimals (`0.500`), rounded up to the millisecond and never
    /// negative, as SQLite's date modifiers take them: an operator's `500ms` is 500 ms.
    public var secondsText: String {
        Self.thousandths(max(0, Int64(milliseconds.rounded(.up))))
    }

    /// Milliseconds with three decimals (`12.345`), as the access log writes them.
    public var millisecondsText: String {
        let (whole, attoseconds) = components
        return Self.thousandths(whole * 1_000_000 + attoseconds / 1_000_000_000_000)
    }

    /// `value / 1000` with three decimals, exactly.
    private static func thousandths(_ value: Int64) -> String {
        let fraction = String(value % 1000)
        return "\(value / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
