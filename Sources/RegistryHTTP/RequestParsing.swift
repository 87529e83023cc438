import Foundation
import Hummingbird
import OCI
import RegistryCore

/// Validation of path and query values; each failure is the spec's error.
enum RequestParsing {
    static func repository(_ raw: String) throws -> RepositoryName {
        guard let name = RepositoryName(raw) else { throw RegistryError.nameInvalid(raw) }
        return name
    }

    /// A digest from the path or query; clients may percent-encode the colon.
    static func digest(_ raw: String) throws -> Digest {
        let decoded = raw.removingPercentEncoding ?? raw
        guard let digest = Digest(decoded) else {
            throw OCIError(.digestInvalid, detail: "invalid or unsupported digest '\(decoded)' (sha256 and sha512 are supported)")
        }
        return digest
    }

    /// What a request does with the manifest reference in its path.
    enum ReferenceUse {
        /// `GET`, `HEAD`, `DELETE`: finds what the reference names.
        case lookup
        /// `PUT`: creates the tag.
        case create
    }

    /// The reference of `/v2/<name>/manifests/<reference>`. A string that cannot be a
    /// tag names nothing: looking it up is 404 `MANIFEST_UNKNOWN`, as for any tag that
    /// does not exist (the spec's "not found" is a 404, and the conformance suite
    /// checks it with `.INVALID_MANIFEST_NAME`); only creating it is 400 `TAG_INVALID`.
    /// A malformed digest is 400 `DIGEST_INVALID` either way.
    static func reference(_ raw: String, for use: ReferenceUse) throws -> Reference {
        let decoded = raw.removingPercentEncoding ?? raw
        switch (Reference.parse(decoded), use) {
        case (.success(let reference), _): return reference
        case (.failure(.invalidTag), .lookup): throw RegistryError.manifestUnknown(decoded)
        case (.failure(.invalidTag), .create): throw RegistryError.tagInvalid(decoded)
        case (.failure, _): throw OCIError(.digestInvalid, detail: "invalid or unsupported digest '\(decoded)'")
        }
    }

    static func uploadID(_ raw: String) throws -> UploadID {
        guard let id = UploadID(raw) else { throw RegistryError.uploadUnknown(raw) }
        return id
    }

    /// `n` for paginated lists: a non-negative integer when given.
    static func pageSize(_ request: Request) throws -> Int? {
        guard let raw = request.uri.queryParameters["n"] else { return nil }
        guard let n = Int(raw), n >= 0 else {
            throw OCIError(.paginationNumberInvalid, detail: "n must be a non-negative integer, got '\(raw)'")
        }
        return n
    }

    /// `Content-Range: <start>-<end>` of a chunk (also accepted with a `bytes ` prefix or `/total` suffix).
    static func contentRange(_ request: Request) throws -> ClosedRange<Int64>? {
        guard var text = request.headers[.contentRange] else { return nil }
        text = text.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("bytes ") || text.hasPrefix("bytes=") { text = String(text.dropFirst(6)) }
        if let slash = text.firstIndex(of: "/") { text = String(text[..<slash]) }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        // end < Int64.max: the chunk's length (end - start + 1) must be representable.
        guard parts.count == 2, let start = Int64(parts[0]), let end = Int64(parts[1]), start >= 0, end >= start, end < Int64.max else {
            throw OCIError(.rangeInvalid, detail: "Content-Range must be <start>-<end>, got '\(text)'")
        }
        return start...end
    }

    static func contentLength(_ request: Request) throws -> Int64? {
        guard let text = request.headers[.contentLength] else { return nil }
        guard let length = Int64(text), length >= 0 else {
            throw OCIError(.sizeInvalid, detail: "invalid Content-Length '\(text)'")
        }
        return length
    }
}
