/// What follows `/manifests/` in a path: a tag or a digest.
public enum Reference: Hashable, Sendable, CustomStringConvertible {
    case tag(Tag)
    case digest(Digest)

    public enum ParseError: Error, Equatable, Sendable {
        case invalidTag
        case invalidDigest
        case unsupportedDigestAlgorithm
    }

    /// Anything with a colon is a digest (a tag can never contain one).
    public static func parse(_ string: some StringProtocol) -> Result<Reference, ParseError> {
        if string.contains(":") {
            if let digest = Digest(string) { return .success(.digest(digest)) }
            return .failure(Digest.looksLikeDigest(string) && !string.hasPrefix("sha256:") && !string.hasPrefix("sha512:")
                ? .unsupportedDigestAlgorithm : .invalidDigest)
        }
        guard let tag = Tag(string) else { return .failure(.invalidTag) }
        return .success(.tag(tag))
    }

    public var description: String {
        switch self {
        case .tag(let tag): tag.value
        case .digest(let digest): digest.description
        }
    }
}
