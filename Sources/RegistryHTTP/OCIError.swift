import Foundation
import HTTPTypes
import Hummingbird
import OCI
import RegistryCore

/// An error in the OCI error format: `{"errors":[{"code","message","detail"}]}`.
/// Every failure the API returns goes through this one type.
public struct OCIError: HTTPResponseError, Sendable {
    /// The spec's error codes with their message and status (distribution's
    /// `errcode/register.go`, as one table).
    public enum Code: String, Sendable {
        case blobUnknown = "BLOB_UNKNOWN"
        case blobUploadInvalid = "BLOB_UPLOAD_INVALID"
        case blobUploadUnknown = "BLOB_UPLOAD_UNKNOWN"
        case digestInvalid = "DIGEST_INVALID"
        case manifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
        case manifestInvalid = "MANIFEST_INVALID"
        case manifestUnknown = "MANIFEST_UNKNOWN"
        case nameInvalid = "NAME_INVALID"
        case nameUnknown = "NAME_UNKNOWN"
        case sizeInvalid = "SIZE_INVALID"
        case tagInvalid = "TAG_INVALID"
        case unauthorized = "UNAUTHORIZED"
        case denied = "DENIED"
        case unsupported = "UNSUPPORTED"
        case tooManyRequests = "TOOMANYREQUESTS"
        case rangeInvalid = "RANGE_INVALID"
        case paginationNumberInvalid = "PAGINATION_NUMBER_INVALID"
        case notFound = "NOT_FOUND"
        case unavailable = "UNAVAILABLE"
        case unknown = "UNKNOWN"

        var message: String {
            switch self {
            case .blobUnknown: "blob unknown to registry"
            case .blobUploadInvalid: "blob upload invalid"
            case .blobUploadUnknown: "blob upload unknown to registry"
            case .digestInvalid: "provided digest did not match uploaded content"
            case .manifestBlobUnknown: "manifest references a manifest or blob unknown to registry"
            case .manifestInvalid: "manifest invalid"
            case .manifestUnknown: "manifest unknown to registry"
            case .nameInvalid: "invalid repository name"
            case .nameUnknown: "repository name not known to registry"
            case .sizeInvalid: "provided length did not match content length"
            case .tagInvalid: "invalid tag"
            case .unauthorized: "authentication required"
            case .denied: "requested access to the resource is denied"
            case .unsupported: "the operation is unsupported"
            case .tooManyRequests: "too many requests"
            case .rangeInvalid: "invalid content range"
            case .paginationNumberInvalid: "invalid number of results requested"
            case .notFound: "not found"
            case .unavailable: "service unavailable"
            case .unknown: "unknown error"
            }
        }

        var defaultStatus: HTTPResponse.Status {
            switch self {
            case .blobUnknown, .blobUploadUnknown, .manifestUnknown, .nameUnknown, .notFound: .notFound
            case .unauthorized: .unauthorized
            case .denied: .forbidden
            case .unsupported: .methodNotAllowed
            case .tooManyRequests: .tooManyRequests
            case .rangeInvalid: .rangeNotSatisfiable
            case .unavailable: .serviceUnavailable
            case .unknown: .internalServerError
            default: .badRequest
            }
        }
    }

    public var code: Code
    public var status: HTTPResponse.Status
    public var message: String
    public var detail: String?
    public var headers: HTTPFields

    public init(_ code: Code, status: HTTPResponse.Status? = nil, message: String? = nil, detail: String? = nil, headers: HTTPFields = [:]) {
        self.code = code
        self.status = status ?? code.defaultStatus
        self.message = message ?? code.message
        self.detail = detail
        self.headers = headers
    }

    struct Body: Encodable {
        struct Entry: Encodable {
            var code: String
            var message: String
            var detail: String?
        }
        var errors: [Entry]
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Body(errors: [.init(code: code.rawValue, message: message, detail: detail)])
        let data = (try? JSONEncoder().encode(body)) ?? Data()
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(data.count)
        let buffer = ByteBuffer(bytes: data)
        return Response(status: status, headers: headers, body: request.method == .head ? ResponseBody() : .init(byteBuffer: buffer))
    }
}

extension OCIError {
    /// The one place where domain errors become wire errors.
    public init(_ error: RegistryError) {
        switch error {
        case .nameInvalid(let name): self.init(.nameInvalid, detail: "invalid repository name: \(name)")
        case .nameUnknown(let name): self.init(.nameUnknown, detail: "repository \(name) is not known")
        case .tagInvalid(let tag): self.init(.tagInvalid, detail: "invalid tag: \(tag)")
        case .blobUnknown(let digest): self.init(.blobUnknown, detail: digest.description)
        case .blobReferenced(let digest, let manifests):
            self.init(.denied, status: .conflict, message: "blob is referenced by a manifest",
                      detail: "\(digest) is a layer or config of \(manifests.joined(separator: ", ")); delete those manifests first")
        case .uploadUnknown(let id): self.init(.blobUploadUnknown, detail: "upload \(id) is not known")
        case .uploadInvalid(let why): self.init(.blobUploadInvalid, detail: why)
        case .uploadRangeInvalid(let size):
            self.init(.rangeInvalid, detail: "the chunk must start at offset \(size)",
                      headers: [.range: "0-\(max(size - 1, 0))"])
        case .uploadBusy(let why): self.init(.rangeInvalid, detail: why)
        case .digestInvalid(let why): self.init(.digestInvalid, detail: why)
        case .sizeInvalid(let why): self.init(.sizeInvalid, detail: why)
        case .blobTooLarge(let limit):
            // 413 with SIZE_INVALID, as for a manifest over its limit: the spec's code for a
            // length the registry will not take, with the status that says "too large".
            self.init(.sizeInvalid, status: .contentTooLarge, message: "blob too large",
                      detail: "the limit is \(limit) bytes (storage.max_blob_size)")
        case .manifestUnknown(let reference): self.init(.manifestUnknown, detail: reference)
        case .manifestInvalid(let why): self.init(.manifestInvalid, detail: why)
        case .manifestTooLarge(let limit):
            self.init(.sizeInvalid, status: .contentTooLarge, message: "manifest too large", detail: "the limit is \(limit) bytes")
        case .manifestBlobUnknown(let digests):
            self.init(.manifestBlobUnknown, detail: "missing: " + digests.map(\.description).joined(separator: ", "))
        case .manifestReferenced(let digest, let indexes):
            self.init(.denied, status: .conflict, message: "manifest is referenced by an index",
                      detail: "\(digest) is listed by \(indexes.joined(separator: ", ")); delete those indexes first")
        case .unsupported(let why): self.init(.unsupported, detail: why)
        case .busy:
            self.init(.unavailable, message: "the registry is busy, retry shortly", headers: [.retryAfter: "1"])
        case .storageFull(let why):
            self.init(.unavailable, message: "insufficient disk space", detail: why, headers: [.retryAfter: "30"])
        }
    }
}
