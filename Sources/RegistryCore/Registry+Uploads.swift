import GRDB
import NIOCore
import OCI

/// Upload sessions, as the HTTP API sees them: each operation takes the request body
/// and owns the session from checkout to check-in, cleanup or cancel
/// (`withUploadSession`), so no caller pairs a begin with an end by hand.
extension Registry {
    /// Opens an upload session in the repository (creating the repository on first use).
    public func startUpload(_ repository: RepositoryName, audit: AuditContext) async throws -> UploadID {
        let id = UploadID.make()
        let store = self.store
        do {
            // The file is made under the write lock, so GC, which re-checks an upload
            // file's missing row under that lock, cannot take it for an orphan.
            try await write { db in
                try store.createUploadFile(id).close()
                let repositoryID = try Self.ensureRepository(db, repository, audit: audit)
                try db.execute(sql: "INSERT INTO uploads(id, repository_id) VALUES (?, ?)", arguments: [id.value, repositoryID])
            }
        } catch {
            try? await BlockingIO.run { store.removeUploadFile(id) }
            throw error
        }
        return id
    }

    /// The number of bytes the session has stored (acknowledged).
    public func uploadSize(_ repository: RepositoryName, _ id: UploadID) async throws -> Int64 {
        let idleLimit = uploadIdleLimitSQL
        return try await read { db in
            guard let size = try Self.uploadRow(db, repository, id, idleLimit: idleLimit) else { throw RegistryError.uploadUnknown(id.value) }
            return size
        }
    }

    /// Appends a request body to the session (a `PATCH`) and records the new size, so a
    /// restarted server continues from exactly what the client was told. Returns it.
    /// A body that fails half-way leaves the session as it was before the request.
    public func appendUpload<Body: AsyncSequence>(
        _ repository: RepositoryName, _ id: UploadID, chunk: UploadChunk, body: Body
    ) async throws -> Int64 where Body.Element == ByteBuffer {
        try await withUploadSession(repository, id, chunk: chunk) { writer in
            try await receive(body, into: &writer)
            try await writer.flush()
            try await recordUploadSize(writer)
            return (.keep, writer.offset)
        }
    }

    /// Appends the last bytes (a `PUT ?digest=`, with or without a body) and completes
    /// the upload as `digest`: verify, then commit under the write protocol
    /// (`Registry+UploadCommit.swift`). Content that does not match the digest ends the
    /// session.
    public func finishUpload<Body: AsyncSequence>(
        _ repository: RepositoryName, _ id: UploadID, digest: Digest, chunk: UploadChunk = UploadChunk(),
        body: Body, audit: AuditContext
    ) async throws -> BlobInfo where Body.Element == ByteBuffer {
        try await withUploadSession(repository, id, chunk: chunk, algorithm: digest.algorithm) { writer in
            try await receive(body, into: &writer)
            try await verifyUpload(&writer, digest: digest)
            let blob = try await commitUpload(&writer, digest: digest, audit: audit)
            return (.finished, blob)
        }
    }

    /// A whole blob in one request (`POST ?digest=`): a session that exists only for the
    /// request. Whatever fails, no session is left behind.
    public func pushBlob<Body: AsyncSequence>(
        _ repository: RepositoryName, digest: Digest, length: Int64?, body: Body, audit: AuditContext
    ) async throws -> BlobInfo where Body.Element == ByteBuffer {
        let id = try await startUpload(repository, audit: audit)
        do {
            return try await withUploadSession(repository, id, chunk: UploadChunk(length: length), algorithm: digest.algorithm) { writer in
                try await receive(body, into: &writer)
                try await verifyUpload(&writer, digest: digest)
                let blob = try await commitUpload(&writer, digest: digest, audit: audit)
                return (.finished, blob)
            }
        } catch {
            // Also when the session could not be taken: the row and file still go.
            try? await cancelUpload(repository, id, audit: audit)
            throw error
        }
    }

    /// Cancels the session (`DELETE`): its row and its file go.
    public func cancelUpload(_ repository: RepositoryName, _ id: UploadID, audit: AuditContext) async throws {
        _ = try await sessions.checkout(id)
        do {
            try await deleteUploadSession(repository, id)
        } catch {
            await sessions.checkin(id, state: nil)
            throw error
        }
        await sessions.remove(id)
    }

    /// Closes the open files of upload sessions idle for `age` (by default a minute, or
    /// `gc.upload_timeout` when shorter). Such a session continues normally later: the
    /// next request reopens its file and hashes it again. Returns how many were closed.
    @discardableResult
    public func evictIdleUploadSessions(olderThan age: Duration? = nil) async -> Int {
        await sessions.evictIdle(olderThan: age ?? sessions.evictionAge)
    }

    // MARK: Steps

    /// Streams the body into the session. A blob that would pass `storage.max_blob_size`
    /// is refused at the buffer that crosses the limit, never after buffering the rest.
    private func receive<Body: AsyncSequence>(_ body: Body, into writer: inout UploadWriter) async throws where Body.Element == ByteBuffer {
        let limit = maxBlobSize
        for try await buffer in body {
            if Int64(buffer.readableBytes) > limit - writer.offset { throw RegistryError.blobTooLarge(limit: limit) }
            try await writer.append(buffer)
        }
    }

    var maxBlobSize: Int64 { configuration.limits.maxBlobSize > 0 ? configuration.limits.maxBlobSize : .max }

    private func recordUploadSize(_ writer: UploadWriter) async throws {
        let offset = writer.offset, id = writer.id
        try await write { db in
            try db.execute(sql: """
                UPDATE uploads SET size = ?, updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = ?
                """, arguments: [offset, id.value])
            guard db.changesCount == 1 else { throw RegistryError.uploadUnknown(id.value) }
        }
    }

    /// Deletes the session's row (refusing an unknown or expired one), then its file.
    func deleteUploadSession(_ repository: RepositoryName, _ id: UploadID) async throws {
        let idleLimit = uploadIdleLimitSQL
        try await write { db in
            guard try Self.uploadRow(db, repository, id, idleLimit: idleLimit) != nil else { throw RegistryError.uploadUnknown(id.value) }
            try db.execute(sql: "DELETE FROM uploads WHERE id = ?", arguments: [id.value])
        }
        let store = self.store
        try await BlockingIO.run { store.removeUploadFile(id) }
    }

    /// Sessions idle since before this (`gc.upload_timeout`) are expired: unknown to
    /// clients at once, even before GC removes them.
    var uploadIdleLimitSQL: String { Self.nowSQL(minus: configuration.uploadTimeout) }

    static func uploadRow(_ db: Database, _ repository: RepositoryName, _ id: UploadID, idleLimit: String) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT u.size FROM uploads u JOIN repositories r ON r.id = u.repository_id
            WHERE u.id = ? AND r.name = ? AND u.updated_at > \(idleLimit)
            """), arguments: [id.value, repository.value])
    }
}
