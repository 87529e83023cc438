/// A `Range: bytes=…` request header (RFC 9110 §14.1.2): one range or a set of them,
/// resolved against a blob's size.
enum ByteRange: Equatable {
    /// No usable Range header (absent, another unit, malformed, or more than
    /// `maximumCount` ranges): serve everything with 200, as RFC 9110 §14.2 allows.
    case none
    /// Not one of the ranges overlaps the blob: 416.
    case unsatisfiable
    /// The satisfiable ranges clipped to the blob, in ascending order, overlapping ones
    /// coalesced (RFC 9110 §15.3.7.2); never empty. One range is a plain 206 with
    /// Content-Range, several are a `multipart/byteranges` 206.
    case satisfiable([Range<Int64>])

    /// The most ranges one request may ask for. containers-storage's partial pulls of
    /// zstd:chunked layers send at most 1,024 (`maxNumberMissingChunks`) and retry with
    /// fewer only on a 400; more is not a client we know, so it gets the whole blob.
    static let maximumCount = 1024

    static func parse(_ header: String?, size: Int64) -> ByteRange {
        guard let header, let equals = header.firstIndex(of: "=") else { return .none }
        // Range units are case-insensitive (RFC 9110 §14.1).
        guard header[..<equals].trimmingCharacters(in: .whitespaces).lowercased() == "bytes" else { return .none }
        var ranges: [Range<Int64>] = []
        var count = 0
        // A list may hold empty elements and whitespace around commas (RFC 9110 §5.6.1).
        for element in header[header.index(after: equals)...].split(separator: ",") {
            let spec = element.trimmingCharacters(in: .whitespaces)
            if spec.isEmpty { continue }
            count += 1
            guard count <= maximumCount else { return .none }
            switch resolve(Substring(spec), size: size) {
            case .invalid: return .none
            case .outside: continue
            case .range(let range): ranges.append(range)
            }
        }
        guard count > 0 else { return .none }
        return ranges.isEmpty ? .unsatisfiable : .satisfiable(coalesced(ranges))
    }

    /// One range-spec: `first-last`, `first-` or `-suffixLength`.
    private enum Spec {
        case invalid
        /// Well-formed but past the end of the blob (or an empty suffix).
        case outside
        case range(Range<Int64>)
    }

    private static func resolve(_ spec: Substring, size: Int64) -> Spec {
        guard let dash = spec.firstIndex(of: "-") else { return .invalid }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            // bytes=-N: the last N bytes.
            guard let suffix = position(last) else { return .invalid }
            guard suffix > 0, size > 0 else { return .outside }
            return .range(max(0, size - suffix)..<size)
        }
        guard let start = position(first) else { return .invalid }
        var end = size - 1
        if !last.isEmpty {
            guard let value = position(last), value >= start else { return .invalid }
            end = min(value, end)
        }
        guard start < size else { return .outside }
        return .range(start..<(end + 1))
    }

    /// A byte position: ASCII digits only (no sign, no spaces). A value past `Int64.max`
    /// is `Int64.max`: as a last position it means "to the end", as a first one it is
    /// past any blob.
    private static func position(_ digits: Substring) -> Int64? {
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int64(digits) ?? Int64.max
    }

    /// Sorted by start; a range that overlaps the previous one extends it, so no byte is
    /// sent twice (`bytes=0-,0-,0-` is one copy of the blob, not three). Ranges that only
    /// touch stay apart: containers-storage asks for adjacent chunks of a zstd:chunked
    /// layer as separate ranges and reads exactly one part per range it asked for (podman
    /// 4.3 panics or pulls the whole layer again when two are merged).
    static func coalesced(_ ranges: [Range<Int64>]) -> [Range<Int64>] {
        var result: [Range<Int64>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let previous = result.last, range.lowerBound < previous.upperBound {
                result[result.count - 1] = previous.lowerBound..<max(previous.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }
}
