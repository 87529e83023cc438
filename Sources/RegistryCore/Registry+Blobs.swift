import GRDB
import OCI

extension Registry {
    /// A blob linked to the repository. With `forHead` the caller answers "exists"
    /// without opening the file (a HEAD), so two promises are checked here: a blob whose
    /// lease is more than half spent gets a fresh one, so a client that checks "exists"
    /// and then pushes a manifest is never beaten by GC, even when the manifests that
    /// referenced the blob are deleted meanwhile (at most one write per blob per half
    /// delay); and a row whose file is lost is unknown. A GET needs neither:
    /// `openBlob` reports a lost file the same way, and a pull is not a push.
    public func blob(_ repository: RepositoryName, _ digest: Digest, forHead: Bool = false) async throws -> BlobInfo {
        let halfSpent = Self.nowSQL(plus: configuration.gcDelay / 2)
        let store = self.store
        // The file check runs on the reader's queue, not on the concurrency pool.
        let found = try await read { db -> (size: Int64, leaseLow: Bool, fileExists: Bool)? in
            let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT b.size, b.protected_until < \(halfSpent) AS lease_low
                FROM repository_blobs rb
                JOIN repositories r ON r.id = rb.repository_id
                JOIN blobs b ON b.digest = rb.digest
                WHERE r.name = ? AND rb.digest = ?
                """), arguments: [repository.value, digest.description])
            return row.map { (size: $0["size"], leaseLow: $0["lease_low"], fileExists: !forHead || store.blobExists(digest)) }
        }
        guard let found else { throw RegistryError.blobUnknown(digest) }
        // A row whose file is lost (`registry check` reports it): the client is told to
        // upload the blob, and that upload puts the file back (`finishUpload`).
        guard found.fileExists else {
            logger.error("blob row without a file", metadata: ["digest": "\(digest)"])
            throw RegistryError.blobUnknown(digest)
        }
        if forHead, found.leaseLow, try await !self.refreshLease(repository, digest) {
            // Collected between the read and the renewal: "found" would be a promise
            // the registry cannot keep, so the client is told to upload it.
            throw RegistryError.blobUnknown(digest)
        }
        return BlobInfo(digest: digest, size: found.size)
    }

    /// Renews the lease of a blob still linked to the repository, under the write lock
    /// (so GC cannot delete it between the check and the renewal); false when the
    /// link is gone.
    func refreshLease(_ repository: RepositoryName, _ digest: Digest) async throws -> Bool {
        let lease = leaseSQL
        return try await write { db in
            let linked = try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id
                               WHERE r.name = ? AND rb.digest = ?)
                """, arguments: [repository.value, digest.description]) ?? false
            guard linked else { return false }
            try db.execute(sql: """
                UPDATE blobs SET protected_until = \(lease)
                WHERE digest = ? AND protected_until < \(lease)
                """, arguments: [digest.description])
            return true
        }
    }

    /// Opens the blob's file for reading. A row without its file is corruption; it is
    /// reported as unknown to the client and logged for the operator.
    public func openBlob(_ digest: Digest) async throws -> BlobReader {
        let store = self.store
        do {
            return BlobReader(file: try await BlockingIO.run { try store.openBlob(digest) })
        } catch {
            logger.error("blob row without a readable file", metadata: ["digest": "\(digest)", "error": "\(error)"])
            throw RegistryError.blobUnknown(digest)
        }
    }

    /// Links a blob of `source` into `repository` (cross-repository mount). Returns nil
    /// when the source does not have it, so the caller falls back to an upload.
    public func mountBlob(_ digest: Digest, into repository: RepositoryName, from source: RepositoryName, audit: AuditContext) async throws -> BlobInfo? {
        let lease = leaseSQL
        let store = self.store
        let size = try await write { db -> Int64? in
            guard let size = try Int64.fetchOne(db, sql: """
                SELECT b.size FROM repository_blobs rb
                JOIN repositories r ON r.id = rb.repository_id
                JOIN blobs b ON b.digest = rb.digest
                WHERE r.name = ? AND rb.digest = ?
                """, arguments: [source.value, digest.description])
            else { return nil }
            // A row whose file was lost is not mountable: the client uploads the bytes,
            // and that upload restores the file.
            guard store.blobExists(digest) else { return nil }
            let repositoryID = try Self.ensureRepository(db, repository, audit: audit)
            try db.execute(sql: "INSERT OR IGNORE INTO repository_blobs(repository_id, digest) VALUES (?, ?)",
                           arguments: [repositoryID, digest.description])
            try db.execute(sql: "UPDATE blobs SET protected_until = max(protected_until, \(lease)) WHERE digest = ?",
                           arguments: [digest.description])
            try Self.recordAudit(db, audit, action: "blob.mount", repository: repository, digest: digest.description, size: size)
            return size
        }
        return size.map { BlobInfo(digest: digest, size: $0) }
    }

    /// Removes the blob from the repository (its link). The bytes stay until GC finds
    /// them unreferenced everywhere. A blob a manifest of this repository still
    /// references is refused: deleting it would break that image.
    public func deleteBlob(_ digest: Digest, from repository: RepositoryName, audit: AuditContext) async throws {
        guard configuration.deleteEnabled else { throw RegistryError.unsupported("deletes are disabled on this registry") }
        try await write { db in
            guard let repositoryID = try Self.repositoryID(db, repository) else { throw RegistryError.blobUnknown(digest) }
            let users = try String.fetchAll(db, sql: """
                SELECT m.digest FROM manifest_blobs mb JOIN manifests m ON m.id = mb.manifest_id
                WHERE m.repository_id = ? AND mb.digest = ? ORDER BY m.digest LIMIT 10
                """, arguments: [repositoryID, digest.description])
            guard users.isEmpty else { throw RegistryError.blobReferenced(digest, byManifests: users) }
            try db.execute(sql: "DELETE FROM repository_blobs WHERE repository_id = ? AND digest = ?",
                           arguments: [repositoryID, digest.description])
            guard db.changesCount > 0 else { throw RegistryError.blobUnknown(digest) }
            try Self.recordAudit(db, audit, action: "blob.delete", repository: repository, digest: digest.description)
        }
    }
}
