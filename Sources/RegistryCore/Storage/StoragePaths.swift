import OCI

/// The whole on-disk layout, computed in one place:
///
/// ```
/// <data-dir>/
///   registry.db            SQLite database (and -wal, -shm): everything but blob bytes
///   blobs/<alg>/<hh>/<hex> blob files, immutable, named by digest (hh = first two hex digits)
///   uploads/<uuid>         bytes of an upload session in progress
///   trash/                 blob files a GC transaction removed, awaiting purge
/// ```
///
/// Every path is built from validated values (a `Digest` is lowercase hex, an upload
/// id is a UUID), never from raw request text, so no request can address a file
/// outside the data directory.
public struct StoragePaths: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }

    public var database: String { root + "/registry.db" }
    public var blobsDirectory: String { root + "/blobs" }
    public var uploadsDirectory: String { root + "/uploads" }
    public var trashDirectory: String { root + "/trash" }

    public func blobDirectory(_ digest: Digest) -> String {
        "\(blobsDirectory)/\(digest.algorithm.rawValue)/\(digest.encoded.prefix(2))"
    }

    public func blob(_ digest: Digest) -> String {
        "\(blobDirectory(digest))/\(digest.encoded)"
    }

    public func upload(_ id: UploadID) -> String {
        "\(uploadsDirectory)/\(id.value)"
    }

    /// Directories that must exist before the store is used.
    public var directories: [String] { [root, blobsDirectory, uploadsDirectory, trashDirectory] }
}
