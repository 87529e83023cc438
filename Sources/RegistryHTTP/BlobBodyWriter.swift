import Hummingbird
import NIOCore
import RegistryCore

/// Writes a response body read from a blob file: ranges of the file and, in a multipart
/// body, the text between them. This is the one read loop for blob bytes: the body is
/// cut into buffers of at most `bufferSize`, each filled by one job on the blocking
/// thread pool (`BlobReader.fill`), and the writer's back-pressure keeps memory flat
/// however large the blob and however many ranges. Small pieces (part headers, short
/// ranges) share a buffer and a job instead of each being one of their own.
struct BlobBodyWriter {
    static let bufferSize = 512 * 1024
    private let blob: BlobReader
    private var batch: [BlobPiece] = []
    private var batchBytes = 0

    init(_ blob: BlobReader) {
        self.blob = blob
    }

    /// A range this long or longer goes out with sendfile(2) where the connection can.
    static let sendfileThreshold: Int64 = 64 << 10

    /// One range of the blob as the whole body (a 200 or a single-range 206): with
    /// `sendfile` (a plain HTTP/1 connection) a marker that `SendfileHandler` turns
    /// into the file's bytes, else buffers read from the file.
    static func body(_ blob: BlobReader, range: Range<Int64>, sendfile: SendfileJobs? = nil) -> ResponseBody {
        ResponseBody(contentLength: Int(range.count)) { writer in
            defer { blob.close() }
            // A file shorter than its row says is damage: the buffered path reports it
            // and cuts the response, where sendfile(2) would find nothing to send.
            if let sendfile, range.count >= sendfileThreshold, (try? blob.fileSize()).map({ $0 >= range.upperBound }) == true {
                try await writer.write(sendfile.register(descriptor: try blob.duplicateDescriptor(), range: range))
                try await writer.finish(nil)
                return
            }
            var body = BlobBodyWriter(blob)
            try await body.append(.bytes(range), to: &writer)
            try await body.finish(&writer)
        }
    }

    /// Several ranges as `multipart/byteranges`.
    static func body(_ blob: BlobReader, parts: MultipartByteRanges) -> ResponseBody {
        ResponseBody(contentLength: Int(parts.contentLength)) { writer in
            defer { blob.close() }
            var body = BlobBodyWriter(blob)
            for index in parts.ranges.indices {
                try await body.append(.text(parts.partHeader(index)), to: &writer)
                try await body.append(.bytes(parts.ranges[index]), to: &writer)
            }
            try await body.append(.text(parts.closing), to: &writer)
            try await body.finish(&writer)
        }
    }

    /// Adds a piece to the batch, writing out each full buffer; a range larger than
    /// what is left of the buffer is split.
    private mutating func append(_ piece: BlobPiece, to writer: inout any ResponseBodyWriter) async throws {
        var rest: BlobPiece? = piece
        while let piece = rest {
            let room = Self.bufferSize - batchBytes
            switch piece {
            case .text(let text):
                if text.utf8.count > room, batchBytes > 0 { try await flush(&writer) }
                batch.append(piece)
                batchBytes += text.utf8.count
                rest = nil
            case .bytes(let range):
                let take = min(room, range.count)
                batch.append(.bytes(range.lowerBound..<(range.lowerBound + Int64(take))))
                batchBytes += take
                rest = take < range.count ? .bytes((range.lowerBound + Int64(take))..<range.upperBound) : nil
            }
            if batchBytes >= Self.bufferSize { try await flush(&writer) }
        }
    }

    private mutating func finish(_ writer: inout any ResponseBodyWriter) async throws {
        try await flush(&writer)
        try await writer.finish(nil)
    }

    private mutating func flush(_ writer: inout any ResponseBodyWriter) async throws {
        guard batchBytes > 0 else { return }
        let buffer = try await blob.fill(batch, byteCount: batchBytes)
        batch.removeAll(keepingCapacity: true)
        batchBytes = 0
        try await writer.write(buffer)
    }
}
