import HTTPTypes
import Hummingbird
import OCI

/// An entity tag (RFC 9110 §8.8.3) and the `If-None-Match` precondition (§13.1.2) on it.
/// Blobs and manifests are named by their digest, so both carry the same strong ETag:
/// the quoted digest.
struct EntityTag: Equatable, Sendable {
    /// The opaque tag, quotes included: the `ETag` field value.
    let field: String

    init(_ digest: Digest) {
        field = "\"\(digest)\""
    }

    /// Whether a GET or HEAD with these request fields is answered 304 Not Modified:
    /// `If-None-Match` is `*` (the blob or manifest exists, or the caller would not be
    /// asking) or lists this tag. The comparison is weak (`W/"x"` matches `"x"`), as the
    /// RFC asks for If-None-Match; elements that are not entity tags are ignored.
    func isMatched(byIfNoneMatchIn fields: HTTPFields) -> Bool {
        fields[values: .ifNoneMatch].contains { value in
            Self.listed(in: value).contains { $0 == "*" || $0 == field }
        }
    }

    /// The 304 answer: `headers` are those a 200 would carry that a cache needs (ETag,
    /// Cache-Control, the digest); no body and no Content-Length, which on a 304 could only
    /// repeat the 200's (RFC 9110 §8.6) and which HTTP/1.1 framing drops anyway.
    static func notModified(_ headers: HTTPFields) -> Response {
        var response = Response(status: .notModified, headers: headers)
        response.headers[.contentLength] = nil
        return response
    }

    /// The elements of one `If-None-Match` value: `*` or opaque tags (quotes kept, `W/`
    /// dropped). A tag may contain commas, so the list is scanned, not split.
    static func listed(in value: String) -> [String] {
        var tags: [String] = []
        var rest = Substring(value)
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == "," }
            guard !rest.isEmpty else { return tags }
            if rest.hasPrefix("W/") { rest = rest.dropFirst(2) }
            if rest.first == "*" {
                tags.append("*")
                rest = rest.dropFirst()
            } else if rest.first == "\"", let close = rest.dropFirst().firstIndex(of: "\"") {
                tags.append(String(rest[...close]))
                rest = rest[rest.index(after: close)...]
            }
            // Whatever is left of this element up to the next comma is not a tag.
            rest = rest.drop { $0 != "," }
        }
    }
}
