#if canImport(Glibc)
import Glibc
#endif
import OCI

/// Blob and upload files on local disk. No metadata: the database decides what a
/// file means; this type only creates, moves, reads and removes files.
public struct BlobStore: Sendable {
    public let paths: StoragePaths
    /// fsync blob bytes before the row that makes them visible is committed.
    public let syncWrites: Bool

    public init(paths: StoragePaths, syncWrites: Bool = true) {
        self.paths = paths
        self.syncWrites = syncWrites
    }

    public func createDirectories() throws(StorageError) {
        for directory in paths.directories {
            try Self.makeDirectory(directory)
        }
        for algorithm in Digest.Algorithm.allCases {
            try Self.makeDirectory("\(paths.blobsDirectory)/\(algorithm.rawValue)")
        }
    }

    static func makeDirectory(_ path: String) throws(StorageError) {
        if mkdir(path, 0o755) != 0, errno != EEXIST {
            throw StorageError.system("mkdir \(path)", errno)
        }
    }

    // MARK: Uploads

    public func createUploadFile(_ id: UploadID) throws(StorageError) -> DiskFile {
        try DiskFile.open(paths.upload(id), flags: O_RDWR | O_CREAT | O_EXCL)
    }

    /// Opens an existing upload file for appending, or nil when it is gone.
    public func openUploadFile(_ id: UploadID) throws(StorageError) -> DiskFile? {
        do {
            let file = try DiskFile.open(paths.upload(id), flags: O_RDWR)
            _ = lseek(file.fd, 0, SEEK_END)
            return file
        } catch {
            if error.errorNumber == ENOENT { return nil }
            throw error
        }
    }

    public func uploadExists(_ id: UploadID) -> Bool {
        access(paths.upload(id), F_OK) == 0
    }

    public func removeUploadFile(_ id: UploadID) {
        unlink(paths.upload(id))
    }

    /// Moves a finished upload into `blobs/`. Refuses to replace an existing file. The
    /// new directory entry is durable only after `syncBlobDirectory`.
    public func moveUploadIntoPlace(_ id: UploadID, as digest: Digest) throws(StorageError) {
        try Self.makeDirectory(paths.blobDirectory(digest))
        let target = paths.blob(digest)
        // link + unlink never replaces an existing blob file (rename would).
        if link(paths.upload(id), target) != 0 {
            let code = errno
            if code == EEXIST {
                // A file without a row (an orphan from an interrupted run): its bytes
                // are unverified, so ours, which were just verified, replace it.
                guard rename(paths.upload(id), target) == 0 else { throw StorageError.system("rename", errno) }
                return
            }
            throw StorageError.system("link \(target)", code)
        }
        unlink(paths.upload(id))
    }

    /// Makes the blob's directory entry durable (a no-op without `sync_writes`).
    public func syncBlobDirectory(_ digest: Digest) throws(StorageError) {
        try syncDirectory(paths.blobDirectory(digest))
    }

    /// Undoes `moveUploadIntoPlace` when the transaction that should have recorded the
    /// blob failed, so no file appears without its row.
    public func moveBlobBackToUpload(_ digest: Digest, id: UploadID) {
        rename(paths.blob(digest), paths.upload(id))
    }

    /// `moveBlobBackToUpload` when the move got that far: the blob file is there and
    /// the upload file is not (a move that failed half-way leaves one or the other).
    func moveBackToUpload(_ digest: Digest, id: UploadID) {
        if blobExists(digest), !uploadExists(id) { moveBlobBackToUpload(digest, id: id) }
    }

    private func syncDirectory(_ path: String) throws(StorageError) {
        guard syncWrites else { return }
        let dir = try DiskFile.open(path, flags: O_RDONLY | O_DIRECTORY)
        try dir.sync()
    }

    // MARK: Blobs

    public func openBlob(_ digest: Digest) throws(StorageError) -> DiskFile {
        try DiskFile.open(paths.blob(digest), flags: O_RDONLY)
    }

    public func blobExists(_ digest: Digest) -> Bool {
        access(paths.blob(digest), F_OK) == 0
    }
}

// MARK: Trash (garbage collection)

/// The file moves of `Registry.retireBlobs` and `Registry.recoverRetirements`, the
/// only code that calls these (Registry+BlobRetirement.swift says when each is safe).
extension BlobStore {
    /// `trash/<algorithm>-<hex>`: one name per digest.
    public func trashPath(_ digest: Digest) -> String {
        "\(paths.trashDirectory)/\(digest.algorithm.rawValue)-\(digest.encoded)"
    }

    /// Moves a blob file to trash. Returns false when there was no file.
    func moveBlobToTrash(_ digest: Digest) throws(StorageError) -> Bool {
        if rename(paths.blob(digest), trashPath(digest)) == 0 { return true }
        if errno == ENOENT { return false }
        throw StorageError.system("rename to trash", errno)
    }

    /// Moves a trash file back into `blobs/`. Only under the write lock, and only when
    /// no file is there: no upload can then put one there meanwhile.
    func restoreBlobFromTrash(_ digest: Digest) -> Bool {
        rename(trashPath(digest), paths.blob(digest)) == 0
    }

    func removeFromTrash(_ digest: Digest) {
        unlink(trashPath(digest))
    }

    /// Unlinks the trash files of committed retirements.
    func purge(_ digests: [Digest]) {
        for digest in digests { removeFromTrash(digest) }
    }

    /// Digests of the files in trash/.
    public func trashedDigests() -> [Digest] {
        DirectoryListing.names(paths.trashDirectory).compactMap { name in
            guard let dash = name.firstIndex(of: "-") else { return nil }
            return Digest("\(name[..<dash]):\(name[name.index(after: dash)...])")
        }
    }
}
