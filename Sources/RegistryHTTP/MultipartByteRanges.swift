/// The layout of a `multipart/byteranges` body (RFC 9110 §14.6), the 206 answer to a
/// request for several ranges: each range is a part with its own Content-Type and
/// Content-Range, between boundary lines. Only the ranges are kept; a part's header is
/// made when it is written, so the Content-Length, which is known before the first byte
/// is sent, costs no memory per part.
struct MultipartByteRanges: Sendable {
    let ranges: [Range<Int64>]
    /// The size of the whole blob, for each part's Content-Range.
    let size: Int64
    /// Each part's Content-Type: the blob's own.
    let partContentType: String
    /// 32 random hex digits: with 128 random bits, no blob contains the delimiter by chance
    /// (RFC 2046 §5.1.1 asks that it not occur in the parts).
    let boundary: String

    init(ranges: [Range<Int64>], size: Int64, partContentType: String, boundary: String = Self.randomBoundary()) {
        self.ranges = ranges
        self.size = size
        self.partContentType = partContentType
        self.boundary = boundary
    }

    /// The response's Content-Type.
    var contentType: String { "multipart/byteranges; boundary=\(boundary)" }

    /// What precedes part `index`'s bytes: the delimiter (after the previous part's bytes,
    /// on a line of its own) and the part's header fields.
    func partHeader(_ index: Int) -> String {
        let range = ranges[index]
        return (index == 0 ? "" : "\r\n") + "--\(boundary)\r\n"
            + "Content-Type: \(partContentType)\r\n"
            + "Content-Range: bytes \(range.lowerBound)-\(range.upperBound - 1)/\(size)\r\n\r\n"
    }

    /// The close delimiter, after the last part's bytes.
    var closing: String { "\r\n--\(boundary)--\r\n" }

    /// The exact length of the body: every part's header and bytes, and the close delimiter.
    var contentLength: Int64 {
        ranges.indices.reduce(Int64(closing.utf8.count)) { total, index in
            total + Int64(partHeader(index).utf8.count) + Int64(ranges[index].count)
        }
    }

    static func randomBoundary() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<32).map { _ in digits[Int(generator.next() % 16)] })
    }
}
