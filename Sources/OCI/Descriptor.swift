/// An OCI content descriptor, as far as the registry needs one.
public struct Descriptor: Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var artifactType: String?
    public var annotations: [String: String]?
    public var urls: [String]?
    public var platform: Platform?

    public init(
        mediaType: String, digest: Digest, size: Int64, artifactType: String? = nil,
        annotations: [String: String]? = nil, urls: [String]? = nil, platform: Platform? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.artifactType = artifactType
        self.annotations = annotations
        self.urls = urls
        self.platform = platform
    }

    /// A layer that lives outside the registry (foreign or non-distributable, with
    /// `urls`): a manifest may reference it without the blob being present.
    public var isExternal: Bool {
        guard let urls, !urls.isEmpty else { return false }
        return mediaType.contains("nondistributable") || mediaType.contains("foreign")
    }
}

public struct Platform: Hashable, Sendable, Codable {
    public var architecture: String
    public var os: String
    public var variant: String?
    public var osVersion: String?

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant
        case osVersion = "os.version"
    }
}
