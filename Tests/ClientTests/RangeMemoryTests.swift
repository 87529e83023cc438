import Foundation
import Testing
import TestSupport

/// A multi-range GET streams from the blob file like a single-range one: a client that
/// asks for 1,000 ranges of a 64 MiB blob and then reads nothing for a while costs the
/// server no more memory than one that asks for the whole blob and stalls the same way.
extension ClientTests {
    @Suite struct RangeMemoryTests {
        static let size = 64 * 1024 * 1024, rangeCount = 1000

        @Test func aStalledReaderOfAThousandRangesCostsNoMoreMemoryThanOfOne() throws {
            let fixture = try RegistryFixture("range-memory")
            defer { fixture.tearDown() }
            let client = RegistryClient(port: fixture.port)
            let blob = try #require(FileHandle(forReadingAtPath: "/dev/urandom")?.readData(ofLength: Self.size))
            let bytes = [UInt8](blob)
            let digest = sha256(bytes)
            let upload = try client.uploadBlob("memory/blob", bytes)
            try #require(upload.status == 201, "\(upload)")
            let pid = try #require(fixture.registry.pid)

            // 1,000 ranges of 64 KiB spread over the whole blob.
            let stride = Self.size / Self.rangeCount
            let ranges = (0..<Self.rangeCount).map { $0 * stride...($0 * stride + 64 * 1024 - 1) }
            let header = "bytes=" + ranges.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")

            let single = try stalledGet(fixture.port, pid: pid, digest: digest, range: "bytes=0-")
            #expect(single.response.status == 206)
            #expect(single.response.body == bytes)
            let multi = try stalledGet(fixture.port, pid: pid, digest: digest, range: header)
            #expect(multi.response.status == 206)
            #expect(multi.response.header("Content-Type")?.hasPrefix("multipart/byteranges; boundary=") == true)
            // Every part is where its Content-Range says, with the blob's bytes.
            let body = multi.response.body
            var offset = 0
            for range in ranges {
                let marker = Array("Content-Range: bytes \(range.lowerBound)-\(range.upperBound)/\(Self.size)\r\n\r\n".utf8)
                guard let found = body[offset...].firstRange(of: marker) else {
                    Issue.record("no part for \(range) after byte \(offset)")
                    break
                }
                offset = found.upperBound + range.count
                #expect(Array(body[found.upperBound..<offset]) == Array(bytes[range]), "part \(range)")
            }

            let mib = 1024 * 1024
            #expect(multi.growth < 16 * mib, "stalled 1,000-range GET: the server grew by \(multi.growth / mib) MiB")
            // A single range goes out with sendfile(2) and costs nothing; the server may even
            // shrink meanwhile (freed upload buffers), so the baseline is at least zero.
            #expect(multi.growth <= max(single.growth, 0) + 8 * mib,
                    "1,000 ranges: +\(multi.growth / mib) MiB, one range: +\(single.growth / mib) MiB")
        }

        /// Sends a GET with `range`, reads nothing for 3 s (the server can only fill the
        /// socket buffers), measures how much the server's resident memory grew, then
        /// reads the whole response.
        private func stalledGet(_ port: Int, pid: pid_t, digest: String, range: String) throws -> (response: RawHTTPResponse, growth: Int) {
            let before = try residentBytes(pid)
            let connection = try RawHTTPConnection(port: port)
            defer { connection.close() }
            try connection.sendHead("GET", "/v2/memory/blob/blobs/\(digest)", headers: [("Range", range)])
            Thread.sleep(forTimeInterval: 3)
            let growth = try residentBytes(pid) - before
            return (try connection.readResponse(method: "GET"), growth)
        }

        private func residentBytes(_ pid: pid_t) throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                  let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
            else { throw ClientTestError("no VmRSS in /proc/\(pid)/status") }
            return kib * 1024
        }
    }
}
