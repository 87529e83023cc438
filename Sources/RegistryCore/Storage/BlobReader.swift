#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import OCI

/// A piece of a response body made from a blob: bytes of the file, or text between
/// them (multipart part headers).
public enum BlobPiece: Sendable {
    case bytes(Range<Int64>)
    case text(String)
}

/// An open blob file, for serving its bytes: reads run on the blocking thread pool and
/// land straight in the buffer that goes out, so a pull costs one copy from the page
/// cache and none on the concurrency pool. Made by `Registry.openBlob`; closed by its
/// reader when the response is written.
public struct BlobReader: Sendable {
    let file: DiskFile

    /// One buffer holding `pieces` in order (`byteCount` bytes in all), filled in one
    /// job. A file shorter than its recorded size is an I/O error: the response is cut,
    /// never padded.
    public func fill(_ pieces: [BlobPiece], byteCount: Int) async throws -> ByteBuffer {
        let file = self.file
        return try await BlockingIO.run {
            var buffer = ByteBufferAllocator().buffer(capacity: byteCount)
            for piece in pieces {
                switch piece {
                case .text(let text):
                    buffer.writeString(text)
                case .bytes(let range):
                    try Self.read(file, range, into: &buffer)
                }
            }
            return buffer
        }
    }

    private static func read(_ file: DiskFile, _ range: Range<Int64>, into buffer: inout ByteBuffer) throws {
        var offset = range.lowerBound
        while offset < range.upperBound {
            let want = Int(range.upperBound - offset)
            let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { pointer in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: pointer[0..<want]), at: offset)
            }
            guard read > 0 else { throw StorageError.system("blob file shorter than its recorded size", EIO) }
            offset += Int64(read)
        }
    }

    /// The file's size now (`fstat`).
    public func fileSize() throws -> Int64 {
        try file.size()
    }

    /// A descriptor of its own on the file, for a sender that outlives this reader
    /// (sendfile(2) on the event loop); the caller closes it.
    public func duplicateDescriptor() throws -> Int32 {
        let copy = fcntl(file.fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw StorageError.system("dup", errno) }
        return copy
    }

    public func close() {
        file.close()
    }
}
