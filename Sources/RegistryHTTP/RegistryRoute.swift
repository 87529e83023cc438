import OCI

/// A request path under `/v2/`, parsed from the right: repository names contain
/// slashes and may contain segments such as `manifests`, `blobs`, `tags` or
/// `uploads`, so only the last segments decide what the path addresses.
public enum RegistryRoute: Equatable, Sendable {
    case base
    case catalog
    case tags(name: String)
    case manifest(name: String, reference: String)
    case blob(name: String, digest: String)
    case uploadStart(name: String)
    case upload(name: String, id: String)
    case referrers(name: String, digest: String)

    /// The repository name as written in the path (not yet validated).
    public var name: String? {
        switch self {
        case .base, .catalog: nil
        case .tags(let name), .manifest(let name, _), .blob(let name, _), .uploadStart(let name),
             .upload(let name, _), .referrers(let name, _): name
        }
    }

    /// Parses a raw (not percent-decoded) request path, without its query.
    /// Returns nil for paths that are not part of the API.
    public static func parse(_ path: String) -> RegistryRoute? {
        guard path == "/v2" || path.hasPrefix("/v2/") else { return nil }
        var rest = Substring(path.dropFirst(3))
        if rest.isEmpty || rest == "/" { return .base }
        rest = rest.dropFirst()
        if rest == "_catalog" { return .catalog }
        var parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        // Only `blobs/uploads/` may end in a slash.
        let trailingSlash = parts.last == ""
        if trailingSlash { parts.removeLast() }
        let n = parts.count
        func name(dropping k: Int) -> String? {
            n > k ? parts[0..<(n - k)].joined(separator: "/") : nil
        }
        if trailingSlash {
            guard n >= 3, parts[n - 2] == "blobs", parts[n - 1] == "uploads", let name = name(dropping: 2) else { return nil }
            return .uploadStart(name: name)
        }
        guard n >= 3 else { return nil }
        switch (parts[n - 2], parts[n - 1]) {
        case ("tags", "list"):
            return name(dropping: 2).map { .tags(name: $0) }
        case ("blobs", "uploads"):
            return name(dropping: 2).map { .uploadStart(name: $0) }
        case ("manifests", let reference):
            return name(dropping: 2).map { .manifest(name: $0, reference: reference) }
        case ("referrers", let digest):
            return name(dropping: 2).map { .referrers(name: $0, digest: digest) }
        case ("blobs", let digest):
            return name(dropping: 2).map { .blob(name: $0, digest: digest) }
        default:
            if n >= 4, parts[n - 3] == "blobs", parts[n - 2] == "uploads" {
                return name(dropping: 3).map { .upload(name: $0, id: parts[n - 1]) }
            }
            return nil
        }
    }
}
