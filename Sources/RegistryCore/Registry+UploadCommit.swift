import GRDB
import OCI

/// Finishing an upload, in distribution's order (`blobwriter.go` Commit): verify the
/// bytes, then commit them in one write transaction, then clean up — and when the
/// transaction fails after the file moved, compensate so that no file is in `blobs/`
/// without its row and the session's bytes are where the session expects them.
extension Registry {
    /// Verify: the bytes are on disk, hash to `digest` and, with `storage.sync_writes`,
    /// are durable, all before the write lock is taken. Content that does not match the
    /// digest ends the session: the client has to start over.
    func verifyUpload(_ writer: inout UploadWriter, digest: Digest) async throws {
        try await writer.flush()
        // The session was checked out with the digest's algorithm, so the running hash is it.
        let computed = writer.hasher.finalize()
        guard computed == digest else {
            writer.onFailure = .cancel
            throw RegistryError.digestInvalid("the uploaded content has digest \(computed), not \(digest)")
        }
        if store.syncWrites {
            let file = writer.file
            try await BlockingIO.run { try file.sync() }
        }
    }

    /// Commit, then clean up. The blob's file appears in `blobs/` inside the transaction
    /// that inserts its row (DESIGN.md's write protocol); the directory entry is made
    /// durable after the commit, outside the write lock, and before the client hears 201.
    /// (A crash between the commit and that fsync can at worst leave a row whose file
    /// was lost, the state `registry check` reports and the next push of the blob
    /// repairs; no client was told the blob is stored.)
    func commitUpload(_ writer: inout UploadWriter, digest: Digest, audit: AuditContext) async throws -> BlobInfo {
        let upload = FinishedUpload(id: writer.id, repository: writer.repository, digest: digest, size: writer.offset)
        let store = self.store, lease = leaseSQL
        let placement: BlobPlacement, hold: Duration
        do {
            (placement, hold) = try await writeMovingFiles { db, moved -> BlobPlacement in
                let decided = try Self.placement(of: upload, db, store: store)
                if decided.placement != .linked {
                    try store.moveUploadIntoPlace(upload.id, as: digest)
                    moved.append(decided.placement)
                }
                try Self.recordUpload(db, upload, as: decided.placement, repositoryID: decided.repositoryID, lease: lease, audit: audit)
                return decided.placement
            } undo: { _, moved in
                // A new blob's file goes back to the session, so no file is left without
                // its row. A restored file stays: it is right for the row already there.
                if moved.contains(.created) { store.moveBackToUpload(digest, id: upload.id) }
            }
        } catch {
            // The session's file became the blob's (a restore): it must not be cut back.
            if (try? await BlockingIO.run { !store.uploadExists(upload.id) }) == true { writer.onFailure = .forget }
            throw error
        }
        metrics.uploadCommitLockHold.record(duration: hold)
        let file = writer.file, syncWrites = store.syncWrites
        try await BlockingIO.run {
            file.close()
            if placement == .linked { store.removeUploadFile(upload.id) }
            if syncWrites { try store.syncBlobDirectory(digest) }
        }
        return BlobInfo(digest: digest, size: upload.size)
    }

    /// Decides, under the write lock, where the upload's bytes go.
    private static func placement(of upload: FinishedUpload, _ db: Database, store: BlobStore) throws -> (repositoryID: Int64, placement: BlobPlacement) {
        guard let repositoryID = try Int64.fetchOne(db, sql: "SELECT repository_id FROM uploads WHERE id = ?", arguments: [upload.id.value])
        else { throw RegistryError.uploadUnknown(upload.id.value) }
        let exists = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM blobs WHERE digest = ?)",
                                       arguments: [upload.digest.description]) ?? false
        // A row whose file was lost (`registry check` reports it): these verified bytes
        // restore it. Under the write lock, so of two re-pushes only the first restores it.
        if exists { return (repositoryID, store.blobExists(upload.digest) ? .linked : .restored) }
        return (repositoryID, .created)
    }

    /// The rows of a finished upload: the blob (new, or its lease refreshed), the
    /// repository's link, the session gone, the audit event. SQL only: the file has
    /// already been placed.
    private static func recordUpload(
        _ db: Database, _ upload: FinishedUpload, as placement: BlobPlacement, repositoryID: Int64, lease: String, audit: AuditContext
    ) throws {
        let digest = upload.digest.description
        switch placement {
        case .created:
            try db.execute(sql: "INSERT INTO blobs(digest, size, protected_until) VALUES (?, ?, \(lease))", arguments: [digest, upload.size])
        case .linked, .restored:
            try db.execute(sql: "UPDATE blobs SET protected_until = max(protected_until, \(lease)) WHERE digest = ?", arguments: [digest])
        }
        try db.execute(sql: "INSERT OR IGNORE INTO repository_blobs(repository_id, digest) VALUES (?, ?)", arguments: [repositoryID, digest])
        try db.execute(sql: "DELETE FROM uploads WHERE id = ?", arguments: [upload.id.value])
        try recordAudit(db, audit, action: "blob.upload", repository: upload.repository, digest: digest, size: upload.size)
    }
}

/// An upload whose bytes were verified, on its way into `blobs/`.
struct FinishedUpload: Sendable {
    let id: UploadID
    let repository: RepositoryName
    let digest: Digest
    let size: Int64
}

/// Where a finished upload's bytes go.
enum BlobPlacement: Sendable {
    /// The blob and its file exist: the upload only links it, and its own file is dropped.
    case linked
    /// The blob's row exists but its file was lost: the upload's file takes its place.
    case restored
    /// A new blob: the upload's file moves into `blobs/` and its row is inserted.
    case created
}
