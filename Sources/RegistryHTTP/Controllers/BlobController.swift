import HTTPTypes
import Hummingbird
import OCI
import RegistryCore

/// `HEAD`/`GET`/`DELETE /v2/<name>/blobs/<digest>`.
struct BlobController: Sendable {
    let registry: Registry
    /// A blob's bytes are opaque to the registry: the manifest that references it says what they are.
    static let contentType = "application/octet-stream"

    func get(_ request: Request, context: RegistryRequestContext, name: String, digest rawDigest: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let digest = try RequestParsing.digest(rawDigest)
        let blob = try await registry.blob(repository, digest, forHead: request.method == .head)
        let etag = EntityTag(digest)
        var headers: HTTPFields = [
            .dockerContentDigest: digest.description,
            .eTag: etag.field,
            .cacheControl: "max-age=31536000",
        ]
        // The precondition comes before the Range (RFC 9110 §13.2.2): a client that has
        // the blob gets nothing more.
        if etag.isMatched(byIfNoneMatchIn: request.headers) {
            return EntityTag.notModified(headers)
        }
        headers[.acceptRanges] = "bytes"
        headers[.contentType] = Self.contentType
        var status = HTTPResponse.Status.ok
        var ranges = [0..<blob.size]
        switch ByteRange.parse(request.headers[.range], size: blob.size) {
        case .none:
            break
        case .unsatisfiable:
            throw OCIError(.rangeInvalid, detail: "range not satisfiable for a blob of \(blob.size) bytes",
                           headers: [.contentRange: "bytes */\(blob.size)"])
        case .satisfiable(let requested):
            ranges = requested
            status = .partialContent
        }
        let body: (BlobReader) -> ResponseBody
        if ranges.count > 1 {
            let parts = MultipartByteRanges(ranges: ranges, size: blob.size, partContentType: Self.contentType)
            headers[.contentType] = parts.contentType
            headers[.contentLength] = String(parts.contentLength)
            body = { BlobBodyWriter.body($0, parts: parts) }
        } else {
            let range = ranges[0]
            if status == .partialContent {
                headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(blob.size)"
            }
            headers[.contentLength] = String(range.count)
            body = { BlobBodyWriter.body($0, range: range, sendfile: context.sendfile) }
        }
        guard request.method != .head else { return Response(status: status, headers: headers) }
        return Response(status: status, headers: headers, body: body(try await registry.openBlob(digest)))
    }

    func delete(_ request: Request, context: RegistryRequestContext, name: String, digest rawDigest: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let digest = try RequestParsing.digest(rawDigest)
        try await registry.deleteBlob(digest, from: repository, audit: context.audit(request))
        return Response(status: .accepted, headers: [.contentLength: "0"])
    }
}
