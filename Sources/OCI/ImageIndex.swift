import Foundation

/// An OCI image index built by the registry itself: the referrers response.
public struct ImageIndex: Encodable, Sendable {
    public struct Entry: Encodable, Sendable {
        public var mediaType: String
        public var digest: String
        public var size: Int64
        public var artifactType: String?
        public var annotations: [String: String]?

        public init(mediaType: String, digest: String, size: Int64, artifactType: String?, annotations: [String: String]?) {
            self.mediaType = mediaType
            self.digest = digest
            self.size = size
            self.artifactType = artifactType
            self.annotations = annotations
        }
    }

    public var schemaVersion = 2
    public var mediaType = MediaType.ociIndex
    public var manifests: [Entry]

    public init(manifests: [Entry]) {
        self.manifests = manifests
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data())
    }
}
