/// A repository name as the distribution spec's grammar defines it:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`,
/// at most 255 characters.
///
/// The grammar alone rules out `..`, empty segments, NUL, percent signs and
/// backslashes, so a valid name can never address a file outside the store.
public struct RepositoryName: Hashable, Sendable, CustomStringConvertible, Comparable {
    public static let maxLength = 255
    public let value: String

    public init?(_ string: some StringProtocol) {
        guard !string.isEmpty, string.utf8.count <= Self.maxLength else { return nil }
        for component in string.split(separator: "/", omittingEmptySubsequences: false) {
            guard Self.isValidComponent(component) else { return nil }
        }
        value = String(string)
    }

    public var description: String { value }

    public static func < (lhs: RepositoryName, rhs: RepositoryName) -> Bool { lhs.value < rhs.value }

    private static func isAlphaNumeric(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    static func isValidComponent(_ component: some StringProtocol) -> Bool {
        let bytes = Array(component.utf8)
        var i = 0
        func alnumRun() -> Bool {
            let start = i
            while i < bytes.count, isAlphaNumeric(bytes[i]) { i += 1 }
            return i > start
        }
        guard alnumRun() else { return false }
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "."):
                i += 1
            case UInt8(ascii: "_"):
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "_") { i += 1 }
            case UInt8(ascii: "-"):
                while i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
            default:
                return false
            }
            guard alnumRun() else { return false }
        }
        return true
    }
}
