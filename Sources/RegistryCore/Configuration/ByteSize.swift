import Foundation

/// Sizes as operators write them: `512MiB`, `1GiB`, `100MB`, `64k`, or plain bytes.
/// Binary units (KiB, MiB, GiB, TiB, and the single letters k, M, G, T as docker and
/// Kubernetes read them) are powers of 1024; decimal units (kB, MB, GB, TB) powers of 1000.
public enum ByteSize {
    private static let units: [(String, Int64)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
        ("kB", 1_000), ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
        ("k", 1 << 10), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40), ("B", 1),
    ]

    public static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard let value = Double(number), value >= 0, value * Double(factor) < Double(Int64.max) else { return nil }
            return Int64(value * Double(factor))
        }
        guard let bytes = Int64(trimmed), bytes >= 0 else { return nil }
        return bytes
    }

    /// Parses or names the key that was wrong.
    public static func parse(_ text: String, key: String) throws(ConfigurationError) -> Int64 {
        guard let bytes = parse(text) else {
            throw ConfigurationError.invalid(key: key, expected: "a size such as 512MiB, 1GiB, 100MB or a number of bytes", got: text)
        }
        return bytes
    }

    /// Exactly, as the configuration takes it: `512MiB`, `1GiB`, `1000`, `0`
    /// (`parse(text(n)) == n`).
    public static func text(_ bytes: Int64) -> String {
        guard bytes != 0 else { return "0" }
        for (suffix, factor) in [("TiB", Int64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where bytes % factor == 0 {
            return "\(bytes / factor)\(suffix)"
        }
        return "\(bytes)"
    }

    /// `1.5 GiB`, `512 MiB`, `900 B`: for messages.
    public static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
