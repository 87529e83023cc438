@testable import RegistryHTTP
import Testing

/// `Range: bytes=…` against a blob of 1,000 bytes: what is served for each header.
@Suite("Range headers: parsing, several ranges, coalescing overlaps")
struct ByteRangeTests {
    static let size: Int64 = 1000

    static let cases: [(header: String?, expected: ByteRange)] = [
        (nil, .none),
        ("bytes=10-19", .satisfiable([10..<20])),
        ("bytes=990-", .satisfiable([990..<1000])),
        ("bytes=-5", .satisfiable([995..<1000])),
        ("bytes=-5000", .satisfiable([0..<1000])),
        ("bytes=995-5000", .satisfiable([995..<1000])),
        ("bytes=0-99999999999999999999", .satisfiable([0..<1000])),
        ("BYTES=0-0", .satisfiable([0..<1])),
        // Several ranges, each clipped, in ascending order.
        ("bytes=0-9,100-199", .satisfiable([0..<10, 100..<200])),
        ("bytes=100-199, 0-9", .satisfiable([0..<10, 100..<200])),
        ("bytes= 0-9 ,\t100-199 ,, 500-", .satisfiable([0..<10, 100..<200, 500..<1000])),
        ("bytes=0-9,-10", .satisfiable([0..<10, 990..<1000])),
        // Overlapping ranges coalesce; one left is a single range.
        ("bytes=0-50,20-30,40-99", .satisfiable([0..<100])),
        ("bytes=500-,-600", .satisfiable([400..<1000])),
        ("bytes=0-,0-,0-", .satisfiable([0..<1000])),
        ("bytes=0-9,9-19", .satisfiable([0..<20])),
        ("bytes=0-9,5-14,12-19", .satisfiable([0..<20])),
        // Adjacent ranges stay apart (containers-storage reads one part per range).
        ("bytes=0-9,10-19", .satisfiable([0..<10, 10..<20])),
        ("bytes=0-9,12-19,10-11", .satisfiable([0..<10, 10..<12, 12..<20])),
        ("bytes=0-9,11-19", .satisfiable([0..<10, 11..<20])),
        // Ranges past the end are dropped; if none is left, 416.
        ("bytes=0-9,1000-1999", .satisfiable([0..<10])),
        ("bytes=1000-", .unsatisfiable),
        ("bytes=1000-1999,5000-", .unsatisfiable),
        ("bytes=-0", .unsatisfiable),
        ("bytes=-0,5-5", .satisfiable([5..<6])),
        ("bytes=99999999999999999999-", .unsatisfiable),
        // Malformed anywhere in the set, or another unit: the Range header is ignored.
        ("bytes=5-3", .none),
        ("bytes=0-9,5-3", .none),
        ("bytes=0-9,abc", .none),
        ("bytes=+1-5", .none),
        ("bytes=1-+5", .none),
        ("bytes=--5", .none),
        ("bytes=0 - 9", .none),
        ("bytes=", .none),
        ("bytes=,", .none),
        ("bytes 0-9", .none),
        ("items=0-9", .none),
        ("0-9", .none),
    ]

    @Test("a header resolves to the ranges served", arguments: cases.indices)
    func parse(_ index: Int) {
        let (header, expected) = Self.cases[index]
        #expect(ByteRange.parse(header, size: Self.size) == expected, "\(header ?? "nil")")
    }

    @Test("on an empty blob every range is unsatisfiable")
    func emptyBlob() {
        #expect(ByteRange.parse("bytes=0-", size: 0) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-5,0-0", size: 0) == .unsatisfiable)
    }

    @Test("1,024 ranges are served as asked; one more and the header is ignored (the whole blob)")
    func limit() {
        let ranges = (0..<Int64(ByteRange.maximumCount)).map { $0 * 3..<$0 * 3 + 1 }
        let header = "bytes=" + ranges.map { "\($0.lowerBound)-\($0.lowerBound)" }.joined(separator: ",")
        #expect(ByteRange.parse(header, size: 4000) == .satisfiable(ranges))
        #expect(ByteRange.parse(header + ",3999-3999", size: 4000) == ByteRange.none)
        // Empty list elements do not count.
        #expect(ByteRange.parse(header + ",,", size: 4000) == .satisfiable(ranges))
    }

    @Test("a thousand ranges in reverse order come out sorted and unchanged")
    func reverseOrder() {
        let ranges = (0..<Int64(1000)).map { $0 * 10..<$0 * 10 + 5 }
        let header = "bytes=" + ranges.reversed().map { "\($0.lowerBound)-\($0.upperBound - 1)" }.joined(separator: ",")
        #expect(ByteRange.parse(header, size: 10_000) == .satisfiable(ranges))
    }
}
