import OCI

/// A blob as a repository sees it.
public struct BlobInfo: Sendable, Equatable {
    public var digest: Digest
    public var size: Int64
}

/// A manifest as stored: the exact pushed bytes and how to label them.
public struct StoredManifest: Sendable {
    public var digest: Digest
    public var mediaType: String
    public var payload: [UInt8]
}

public struct PutManifestResult: Sendable, Equatable {
    public var digest: Digest
    public var subject: Digest?
}

/// One page of a lexically ordered listing (tags or repositories).
public struct ListPage: Sendable, Equatable {
    public var items: NameList
    /// The last item of the page when more follow, for the `Link` header.
    public var next: String?
}

public struct Referrer: Sendable {
    public var digest: String
    public var mediaType: String
    public var size: Int64
    public var artifactType: String?
    public var annotationsJSON: String?
}
