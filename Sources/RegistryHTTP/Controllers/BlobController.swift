import HTTPTypes
import Hummingbird
import NIOCore
import OCI
import RegistryCore

/// `HEAD`/`GET`/`DELETE /v2/<name>/blobs/<digest>`.
struct BlobController: Sendable {
    let registry: Registry
    static let chunkSize = 512 * 1024

    func get(_ request: Request, context: RegistryRequestContext, name: String, digest rawDigest: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let digest = try RequestParsing.digest(rawDigest)
        let blob = try await registry.blob(repository, digest, forHead: request.method == .head)
        var headers: HTTPFields = [
            .dockerContentDigest: digest.description,
            .contentType: "application/octet-stream",
            .acceptRanges: "bytes",
            .eTag: "\"\(digest)\"",
            .cacheControl: "max-age=31536000",
        ]
        var status = HTTPResponse.Status.ok
        var range = 0..<blob.size
        switch ByteRange.parse(request.headers[.range], size: blob.size) {
        case .none:
            break
        case .unsatisfiable:
            throw OCIError(.rangeInvalid, detail: "range not satisfiable for a blob of \(blob.size) bytes",
                           headers: [.contentRange: "bytes */\(blob.size)"])
        case .satisfiable(let requested):
            range = requested
            status = .partialContent
            headers[.contentRange] = "bytes \(requested.lowerBound)-\(requested.upperBound - 1)/\(blob.size)"
        }
        headers[.contentLength] = String(range.count)
        if request.method == .head {
            return Response(status: status, headers: headers, body: ResponseBody())
        }
        let file = try registry.openBlobFile(digest)
        return Response(status: status, headers: headers, body: Self.stream(file, range: range, allocator: ByteBufferAllocator()))
    }

    /// Streams a byte range of a file in 512 KiB buffers; the writer's back-pressure
    /// keeps memory flat however large the blob.
    static func stream(_ file: DiskFile, range: Range<Int64>, allocator: ByteBufferAllocator) -> ResponseBody {
        ResponseBody(contentLength: Int(range.count)) { writer in
            defer { file.close() }
            var offset = range.lowerBound
            while offset < range.upperBound {
                let want = Int(min(Int64(chunkSize), range.upperBound - offset))
                var buffer = allocator.buffer(capacity: want)
                let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { pointer in
                    try file.read(into: UnsafeMutableRawBufferPointer(rebasing: pointer[0..<want]), at: offset)
                }
                guard read > 0 else { throw StorageError.system("blob file shorter than its recorded size", 5) }
                offset += Int64(read)
                try await writer.write(buffer)
            }
            try await writer.finish(nil)
        }
    }

    func delete(_ request: Request, context: RegistryRequestContext, name: String, digest rawDigest: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let digest = try RequestParsing.digest(rawDigest)
        try await registry.deleteBlob(digest, from: repository, audit: context.audit(request))
        return Response(status: .accepted, headers: [.contentLength: "0"])
    }
}
