import HTTPTypes
import HummingbirdTesting
import Testing
import TestSupport

/// A GET with several ranges, as containers-storage sends for a partial pull of a
/// zstd:chunked layer: one 206 `multipart/byteranges` with a part per range.
@Suite("Blobs: multi-range GET")
struct MultiRangeTests {
    @Test("two ranges are a 206 multipart/byteranges with each part's Content-Type, Content-Range and bytes")
    func twoRanges() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(1000)
            let digest = try await r.pushBlob("alpha", bytes)
            let response = try await r.get("/v2/alpha/blobs/\(digest)", headers: [.range: "bytes=0-9,100-199"])
            #expect(response.status == .partialContent)
            #expect(response.headers[.contentRange] == nil)
            #expect(response.headers[Header.contentDigest] == digest)
            #expect(response.headers[.eTag] == "\"\(digest)\"")
            let parts = try MultipartBody(response)
            #expect(parts.parts.map(\.contentRange) == ["bytes 0-9/1000", "bytes 100-199/1000"])
            #expect(parts.parts.allSatisfy { $0.contentType == "application/octet-stream" })
            #expect(parts.parts[0].bytes == Array(bytes[0...9]))
            #expect(parts.parts[1].bytes == Array(bytes[100...199]))
        }
    }

    @Test("1,000 ranges of a 2 MiB blob, across read-buffer boundaries: every byte of every part is right")
    func thousandRanges() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(2 * 1024 * 1024)
            let digest = try await r.pushBlob("big", bytes)
            // Lengths from 1 to 512 bytes with gaps of 1 to 512 bytes between them, one
            // range larger than the 512 KiB read buffer, and the last byte of the blob.
            var generator = SystemRandomNumberGenerator()
            var ranges: [ClosedRange<Int>] = []
            var start = 0
            for index in 0..<999 {
                let length = index == 500 ? 600 * 1024 : Int.random(in: 1...512, using: &generator)
                ranges.append(start...(start + length - 1))
                start += length + Int.random(in: 1...512, using: &generator)
            }
            #expect(start < bytes.count - 2)
            ranges.append((bytes.count - 1)...(bytes.count - 1))
            let header = "bytes=" + ranges.shuffled().map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
            let response = try await r.get("/v2/big/blobs/\(digest)", headers: [.range: header])
            #expect(response.status == .partialContent)
            let parts = try MultipartBody(response)
            // Answered in ascending order, each part exactly its range.
            try #require(parts.parts.count == ranges.count)
            #expect(parts.parts.map(\.contentRange) == ranges.map { "bytes \($0.lowerBound)-\($0.upperBound)/\(bytes.count)" })
            #expect(parts.parts.map(\.bytes) == ranges.map { Array(bytes[$0]) })
        }
    }

    @Test("overlapping ranges coalesce (one left is a plain 206 with Content-Range); adjacent ones stay separate parts")
    func coalescing() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(1000)
            let digest = try await r.pushBlob("alpha", bytes)
            let one = try await r.get("/v2/alpha/blobs/\(digest)", headers: [.range: "bytes=0-9,5-19,5-29,0-"])
            #expect(one.status == .partialContent)
            #expect(one.headers[.contentType] == "application/octet-stream")
            #expect(one.headers[.contentRange] == "bytes 0-999/1000")
            #expect(one.headers[.contentLength] == "1000")
            #expect(one.bytes == bytes)

            let two = try await r.get("/v2/alpha/blobs/\(digest)", headers: [.range: "bytes=0-9,5-14,500-599,550-"])
            let merged = try MultipartBody(two)
            #expect(merged.parts.map(\.contentRange) == ["bytes 0-14/1000", "bytes 500-999/1000"])
            #expect(merged.parts[0].bytes == Array(bytes[0...14]))
            #expect(merged.parts[1].bytes == Array(bytes[500...]))

            // As containers-storage asks for consecutive chunks of a zstd:chunked layer.
            let adjacent = try await r.get("/v2/alpha/blobs/\(digest)", headers: [.range: "bytes=100-199,200-299,300-399"])
            let parts = try MultipartBody(adjacent)
            #expect(parts.parts.map(\.contentRange) == ["bytes 100-199/1000", "bytes 200-299/1000", "bytes 300-399/1000"])
            #expect(parts.parts.flatMap(\.bytes) == Array(bytes[100...399]))
        }
    }

    @Test("ranges past the end are dropped; when none is left the answer is 416")
    func partlySatisfiable() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(1000)
            let digest = try await r.pushBlob("alpha", bytes)
            let some = try await r.get("/v2/alpha/blobs/\(digest)", headers: [.range: "bytes=990-,2000-2999"])
            #expect(some.status == .partialContent)
            #expect(some.headers[.contentRange] == "bytes 990-999/1000")
            #expect(some.bytes == Array(bytes[990...]))
            let none = try await r.get("/v2/alpha/blobs/\(digest)", headers: [.range: "bytes=1000-1999,2000-"])
            expectError(none, .rangeNotSatisfiable, "RANGE_INVALID")
            #expect(none.headers[.contentRange] == "bytes */1000")
        }
    }

    @Test("HEAD with several ranges gives the GET's status, Content-Type and Content-Length, no body")
    func head() async throws {
        try await withRegistry { r in
            let digest = try await r.pushBlob("alpha", randomBytes(1000))
            let range: HTTPFields = [.range: "bytes=0-9,100-199"]
            let get = try await r.get("/v2/alpha/blobs/\(digest)", headers: range)
            let head = try await r.head("/v2/alpha/blobs/\(digest)", headers: range)
            #expect(head.status == .partialContent)
            #expect(head.headers[.contentType]?.hasPrefix("multipart/byteranges; boundary=") == true)
            #expect(head.headers[.contentLength] == get.headers[.contentLength])
            #expect(head.body.readableBytes == 0)
        }
    }

    @Test("more than 1,024 ranges are answered with the whole blob (200)")
    func overTheLimit() async throws {
        try await withRegistry { r in
            let bytes = randomBytes(5000)
            let digest = try await r.pushBlob("alpha", bytes)
            let atLimit = "bytes=" + (0..<1024).map { "\($0 * 3)-\($0 * 3)" }.joined(separator: ",")
            let served = try await r.get("/v2/alpha/blobs/\(digest)", headers: [.range: atLimit])
            #expect(served.status == .partialContent)
            #expect(try MultipartBody(served).parts.count == 1024)
            let over = try await r.get("/v2/alpha/blobs/\(digest)", headers: [.range: atLimit + ",4000-4000"])
            #expect(over.status == .ok)
            #expect(over.headers[.contentLength] == "5000")
            #expect(over.bytes == bytes)
        }
    }
}

/// A `multipart/byteranges` body read strictly: the boundary from Content-Type, each
/// part's header fields, exactly as many bytes as its Content-Range says, the close
/// delimiter, and a Content-Length equal to what came.
struct MultipartBody {
    struct Part {
        var contentType: String?
        var contentRange: String
        var bytes: [UInt8]
    }

    var parts: [Part] = []

    init(_ response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let contentType = try #require(response.headers[.contentType], sourceLocation: sourceLocation)
        let prefix = "multipart/byteranges; boundary="
        try #require(contentType.hasPrefix(prefix), "Content-Type: \(contentType)", sourceLocation: sourceLocation)
        let boundary = String(contentType.dropFirst(prefix.count))
        try #require(!boundary.isEmpty && boundary.count <= 70, sourceLocation: sourceLocation)
        let body = response.bytes
        #expect(response.headers[.contentLength] == String(body.count), sourceLocation: sourceLocation)
        var offset = 0
        func expectText(_ text: String) throws {
            let expected = Array(text.utf8)
            guard offset + expected.count <= body.count, Array(body[offset..<offset + expected.count]) == expected else {
                throw Malformed("expected \(text.debugDescription) at byte \(offset)")
            }
            offset += expected.count
        }
        try expectText("--\(boundary)\r\n")
        while true {
            var fields: [String: String] = [:]
            while true {
                guard offset < body.count - 1, let end = (offset..<body.count - 1).first(where: { body[$0] == 13 && body[$0 + 1] == 10 }) else {
                    throw Malformed("part header line without CRLF at byte \(offset)")
                }
                let line = String(decoding: body[offset..<end], as: UTF8.self)
                offset = end + 2
                if line.isEmpty { break }
                guard let colon = line.firstIndex(of: ":") else { throw Malformed("header line \(line.debugDescription)") }
                fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            guard let contentRange = fields["content-range"] else { throw Malformed("a part without Content-Range") }
            let numbers = contentRange.dropFirst("bytes ".count).split(whereSeparator: { $0 == "-" || $0 == "/" }).compactMap { Int($0) }
            guard contentRange.hasPrefix("bytes "), numbers.count == 3, numbers[0] <= numbers[1] else {
                throw Malformed("Content-Range \(contentRange)")
            }
            let length = numbers[1] - numbers[0] + 1
            guard offset + length <= body.count else { throw Malformed("part \(contentRange) is cut short") }
            parts.append(Part(contentType: fields["content-type"], contentRange: contentRange, bytes: Array(body[offset..<offset + length])))
            offset += length
            try expectText("\r\n--\(boundary)")
            if offset + 2 <= body.count, body[offset] == UInt8(ascii: "-"), body[offset + 1] == UInt8(ascii: "-") {
                try expectText("--\r\n")
                break
            }
            try expectText("\r\n")
        }
        guard offset == body.count else { throw Malformed("\(body.count - offset) bytes after the close delimiter") }
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
