import Hummingbird
import NIOCore
import RegistryCore

/// Writes a response body read from a blob file: ranges of the file and, in a multipart
/// body, the text between them. This is the one read loop for blob bytes: everything goes
/// out in buffers of at most `bufferSize`, filled by `pread` straight from the file, and
/// the writer's back-pressure keeps memory flat however large the blob and however many
/// ranges. Small pieces (part headers, short ranges) share a buffer instead of each
/// being a write of its own.
struct BlobBodyWriter {
    static let bufferSize = 512 * 1024
    private let file: DiskFile
    private let allocator = ByteBufferAllocator()
    private var buffer: ByteBuffer

    init(_ file: DiskFile) {
        self.file = file
        buffer = allocator.buffer(capacity: Self.bufferSize)
    }

    /// One range of the blob as the whole body (a 200 or a single-range 206).
    static func body(_ file: DiskFile, range: Range<Int64>) -> ResponseBody {
        ResponseBody(contentLength: Int(range.count)) { writer in
            defer { file.close() }
            var body = BlobBodyWriter(file)
            try await body.append(range, to: &writer)
            try await body.finish(&writer)
        }
    }

    /// Several ranges as `multipart/byteranges`.
    static func body(_ file: DiskFile, parts: MultipartByteRanges) -> ResponseBody {
        ResponseBody(contentLength: Int(parts.contentLength)) { writer in
            defer { file.close() }
            var body = BlobBodyWriter(file)
            for index in parts.ranges.indices {
                try await body.append(parts.partHeader(index), to: &writer)
                try await body.append(parts.ranges[index], to: &writer)
            }
            try await body.append(parts.closing, to: &writer)
            try await body.finish(&writer)
        }
    }

    mutating func append(_ text: String, to writer: inout any ResponseBodyWriter) async throws {
        if buffer.readableBytes + text.utf8.count > Self.bufferSize { try await flush(&writer) }
        buffer.writeString(text)
    }

    mutating func append(_ range: Range<Int64>, to writer: inout any ResponseBodyWriter) async throws {
        var offset = range.lowerBound
        while offset < range.upperBound {
            if buffer.readableBytes >= Self.bufferSize { try await flush(&writer) }
            let want = Int(min(Int64(Self.bufferSize - buffer.readableBytes), range.upperBound - offset))
            let file = self.file
            let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { pointer in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: pointer[0..<want]), at: offset)
            }
            guard read > 0 else { throw StorageError.system("blob file shorter than its recorded size", 5) }
            offset += Int64(read)
        }
    }

    mutating func finish(_ writer: inout any ResponseBodyWriter) async throws {
        try await flush(&writer)
        try await writer.finish(nil)
    }

    private mutating func flush(_ writer: inout any ResponseBodyWriter) async throws {
        guard buffer.readableBytes > 0 else { return }
        try await writer.write(buffer)
        buffer = allocator.buffer(capacity: Self.bufferSize)
    }
}
