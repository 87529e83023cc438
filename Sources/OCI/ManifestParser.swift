import Foundation

/// What the registry needs to know about a pushed manifest: its kind, and every
/// blob, child manifest and subject it references.
public struct ParsedManifest: Sendable, Equatable {
    public var mediaType: String
    public var artifactType: String?
    /// Config and layers that must be present in the repository.
    public var blobs: [Digest]
    /// Manifests an index lists; they must be present in the repository.
    public var children: [Digest]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public var isIndex: Bool { MediaType.isIndex(mediaType) }
}

public enum ManifestParseError: Error, Equatable, Sendable {
    /// The bytes are not a manifest this registry accepts; the text says why.
    case invalid(String)
    case unsupportedMediaType(String)
}

/// Parses and validates manifest bytes. Pure: no I/O.
public enum ManifestParser {
    public static let schema1Types: Set<String> = [
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ]

    /// Parses `bytes` pushed with `contentType` (the request's Content-Type, if any).
    public static func parse(_ bytes: [UInt8], contentType: String?) throws(ManifestParseError) -> ParsedManifest {
        try StrictJSONScanner.check(bytes)
        let raw: RawManifest
        do {
            raw = try JSONDecoder().decode(RawManifest.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw .invalid("manifest is not valid JSON of a known shape: \(describe(error))")
        } catch {
            throw .invalid("manifest is not valid JSON")
        }
        let declared = contentType.map(normalize)
        if let declared, schema1Types.contains(declared) || raw.schemaVersion == 1 {
            throw .unsupportedMediaType("Docker schema1 manifests are not supported; push schema2 or OCI")
        }
        guard raw.schemaVersion == 2 else {
            throw .invalid("schemaVersion must be 2")
        }
        let mediaType = try resolveMediaType(declared: declared, body: raw.mediaType, raw: raw)
        if MediaType.isIndex(mediaType) {
            return try parseIndex(raw, mediaType: mediaType)
        }
        return try parseImage(raw, mediaType: mediaType)
    }

    static func normalize(_ contentType: String) -> String {
        contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    private static func resolveMediaType(declared: String?, body: String?, raw: RawManifest) throws(ManifestParseError) -> String {
        let generic: Set<String> = ["", "application/json", "application/octet-stream"]
        if let declared, !generic.contains(declared) {
            guard MediaType.manifestTypes.contains(declared) else {
                throw .unsupportedMediaType("unsupported manifest media type \(declared)")
            }
            if let body, body != declared {
                throw .invalid("mediaType \(body) in the manifest does not match Content-Type \(declared)")
            }
            return declared
        }
        if let body {
            guard MediaType.manifestTypes.contains(body) else {
                throw .unsupportedMediaType("unsupported manifest media type \(body)")
            }
            return body
        }
        // OCI allows mediaType to be absent; infer from the shape.
        if raw.manifests != nil { return MediaType.ociIndex }
        if raw.config != nil { return MediaType.ociManifest }
        throw .invalid("cannot tell the manifest's media type: no mediaType, config or manifests")
    }

    private static func parseImage(_ raw: RawManifest, mediaType: String) throws(ManifestParseError) -> ParsedManifest {
        guard let rawConfig = raw.config else { throw .invalid("image manifest has no config") }
        guard raw.manifests == nil else { throw .invalid("image manifest must not have manifests") }
        let config = try descriptor(rawConfig, field: "config")
        var layers: [Descriptor] = []
        for (i, layer) in (raw.layers ?? []).enumerated() {
            layers.append(try descriptor(layer, field: "layers[\(i)]"))
        }
        if mediaType == MediaType.dockerManifest, raw.layers == nil {
            throw .invalid("Docker manifest has no layers")
        }
        let artifactType = try validArtifactType(raw.artifactType)
        if artifactType != nil, mediaType != MediaType.ociManifest {
            throw .invalid("artifactType is only allowed on OCI manifests")
        }
        let blobs = [config] + layers.filter { !$0.isExternal }
        return ParsedManifest(
            mediaType: mediaType,
            artifactType: artifactType ?? (mediaType == MediaType.ociManifest ? config.mediaType : nil),
            blobs: unique(blobs.map(\.digest)),
            children: [],
            subject: try raw.subject.map { d throws(ManifestParseError) in try descriptor(d, field: "subject") },
            annotations: raw.annotations
        )
    }

    private static func parseIndex(_ raw: RawManifest, mediaType: String) throws(ManifestParseError) -> ParsedManifest {
        guard let rawChildren = raw.manifests else { throw .invalid("index has no manifests") }
        guard raw.config == nil, raw.layers == nil else { throw .invalid("index must not have config or layers") }
        var children: [Descriptor] = []
        for (i, child) in rawChildren.enumerated() {
            children.append(try descriptor(child, field: "manifests[\(i)]"))
        }
        return ParsedManifest(
            mediaType: mediaType,
            artifactType: try validArtifactType(raw.artifactType),
            blobs: [],
            children: unique(children.map(\.digest)),
            subject: try raw.subject.map { d throws(ManifestParseError) in try descriptor(d, field: "subject") },
            annotations: raw.annotations
        )
    }

    private static func validArtifactType(_ type: String?) throws(ManifestParseError) -> String? {
        guard let type else { return nil }
        guard MediaType.isWellFormed(type) else { throw .invalid("artifactType \(type) is not a media type") }
        return type
    }

    private static func descriptor(_ raw: RawDescriptor, field: String) throws(ManifestParseError) -> Descriptor {
        guard let mediaType = raw.mediaType, MediaType.isWellFormed(mediaType) else {
            throw .invalid("\(field): mediaType missing or malformed")
        }
        guard let digestString = raw.digest, let digest = Digest(digestString) else {
            throw .invalid("\(field): digest missing or invalid")
        }
        guard let size = raw.size, size >= 0 else { throw .invalid("\(field): size missing or negative") }
        return Descriptor(
            mediaType: mediaType, digest: digest, size: size, artifactType: raw.artifactType,
            annotations: raw.annotations, urls: raw.urls, platform: raw.platform
        )
    }

    private static func unique(_ digests: [Digest]) -> [Digest] {
        var seen = Set<Digest>()
        return digests.filter { seen.insert($0).inserted }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context),
             .keyNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

struct RawDescriptor: Decodable {
    var mediaType: String?
    var digest: String?
    var size: Int64?
    var artifactType: String?
    var annotations: [String: String]?
    var urls: [String]?
    var platform: Platform?
}

struct RawManifest: Decodable {
    var schemaVersion: Int?
    var mediaType: String?
    var artifactType: String?
    var config: RawDescriptor?
    var layers: [RawDescriptor]?
    var manifests: [RawDescriptor]?
    var subject: RawDescriptor?
    var annotations: [String: String]?
}
