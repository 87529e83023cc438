import NIOCore

/// A request body for `Registry`'s upload operations from bytes in memory, cut into
/// `chunkSize` buffers as a socket would deliver them; with `failAfter`, the stream
/// throws after that many bytes, as a client that goes away mid-body.
public struct UploadBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let buffers: [ByteBuffer]
    let failure: (any Error)?

    public init(_ bytes: [UInt8], chunkSize: Int = 64 * 1024, failingWith failure: (any Error)? = nil) {
        buffers = stride(from: 0, to: bytes.count, by: chunkSize).map {
            ByteBuffer(bytes: bytes[$0..<Swift.min($0 + chunkSize, bytes.count)])
        }
        self.failure = failure
    }

    public static var empty: UploadBody { UploadBody([]) }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(buffers: buffers[...], failure: failure)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var buffers: ArraySlice<ByteBuffer>
        let failure: (any Error)?

        public mutating func next() async throws -> ByteBuffer? {
            if let buffer = buffers.popFirst() { return buffer }
            if let failure { throw failure }
            return nil
        }
    }
}
