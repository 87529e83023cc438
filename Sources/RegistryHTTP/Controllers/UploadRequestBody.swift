import Hummingbird
import NIOCore
import RegistryCore

/// An upload request's body, which must carry exactly the bytes its headers declare:
/// the registry consumes it as it arrives, and a body that ends short of (or past) its
/// `Content-Length` or `Content-Range` fails at its end, so the session keeps nothing
/// of it.
struct UploadRequestBody: AsyncSequence {
    typealias Element = ByteBuffer
    let body: RequestBody
    let contentLength: Int64?
    let range: ClosedRange<Int64>?

    /// What the registry is told before the first byte: where the chunk goes and how long it is.
    var chunk: UploadChunk {
        UploadChunk(offset: range?.lowerBound, length: contentLength ?? range.map { Int64($0.count) })
    }

    /// Refuses headers that contradict each other before anything is read.
    init(_ request: Request) throws {
        body = request.body
        contentLength = try RequestParsing.contentLength(request)
        range = try RequestParsing.contentRange(request)
        if let range, let contentLength, contentLength != Int64(range.count) {
            throw OCIError(.rangeInvalid, detail: "Content-Range covers \(range.count) bytes but Content-Length is \(contentLength)")
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: body.makeAsyncIterator(), contentLength: contentLength, range: range)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let contentLength: Int64?
        let range: ClosedRange<Int64>?
        var received: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            if let buffer = try await base.next() {
                received += Int64(buffer.readableBytes)
                return buffer
            }
            if let contentLength, contentLength != received {
                throw RegistryError.sizeInvalid("received \(received) bytes, Content-Length said \(contentLength)")
            }
            if let range, Int64(range.count) != received {
                throw OCIError(.rangeInvalid, detail: "received \(received) bytes for Content-Range \(range.lowerBound)-\(range.upperBound)")
            }
            return nil
        }
    }
}
