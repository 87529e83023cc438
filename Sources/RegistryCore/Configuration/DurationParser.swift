import Foundation

/// Durations as operators write them: `500ms`, `30s`, `10m`, `1h`, `1d`, or plain seconds;
/// and written back the same way (`format`), for the startup line and `config check --print`.
public enum DurationParser {
    private static let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]

    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            guard let value = Double(trimmed.dropLast(suffix.count)), value >= 0 else { return nil }
            return .milliseconds(Int64(value * factor * 1000))
        }
        guard let seconds = Double(trimmed), seconds >= 0 else { return nil }
        return .milliseconds(Int64(seconds * 1000))
    }

    /// Parses or names the key that was wrong.
    public static func parse(_ text: String, key: String) throws(ConfigurationError) -> Duration {
        guard let duration = parse(text) else {
            throw ConfigurationError.invalid(key: key, expected: "a duration such as 30s, 10m, 1h", got: text)
        }
        return duration
    }

    /// In the largest unit that holds it whole: `1h`, `10m`, `90s`, `1500ms`, `0s`.
    /// `parse(format(d)) == d` to the millisecond.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = Int64(duration.milliseconds.rounded())
        guard milliseconds != 0 else { return "0s" }
        for (suffix, factor) in units.reversed() {
            let unit = Int64(factor * 1000)
            if milliseconds % unit == 0 { return "\(milliseconds / unit)\(suffix)" }
        }
        return "\(milliseconds)ms"
    }
}
