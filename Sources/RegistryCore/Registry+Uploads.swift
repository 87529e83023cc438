import GRDB
import OCI
import Synchronization

extension Registry {
    /// Opens an upload session in the repository (creating the repository on first use).
    public func startUpload(_ repository: RepositoryName, audit: AuditContext) async throws -> UploadID {
        let id = UploadID.make()
        let file = try store.createUploadFile(id)
        file.close()
        do {
            try await write { db in
                let repositoryID = try Self.ensureRepository(db, repository, audit: audit)
                try db.execute(sql: "INSERT INTO uploads(id, repository_id) VALUES (?, ?)", arguments: [id.value, repositoryID])
            }
        } catch {
            store.removeUploadFile(id)
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

    /// Sessions idle since before this (`gc.upload_timeout`) are expired: unknown to
    /// clients at once, even before GC removes them.
    var uploadIdleLimitSQL: String { Self.nowSQL(minus: configuration.uploadTimeout) }

    static func uploadRow(_ db: Database, _ repository: RepositoryName, _ id: UploadID, idleLimit: String) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT u.size FROM uploads u JOIN repositories r ON r.id = u.repository_id
            WHERE u.id = ? AND r.name = ? AND u.updated_at > \(idleLimit)
            """), arguments: [id.value, repository.value])
    }

    /// Takes the session for one request. With `expectedOffset` (a chunk's
    /// Content-Range start), a chunk that does not continue the stored bytes is
    /// refused before anything is written.
    public func beginAppend(
        _ repository: RepositoryName, _ id: UploadID, expectedOffset: Int64? = nil,
        algorithm: Digest.Algorithm = .sha256
    ) async throws -> UploadWriter {
        let storedSize = try await uploadSize(repository, id)
        let cached = try await sessions.checkout(id)
        let state: UploadSessions.State
        do {
            state = try cached.flatMap { $0.offset == storedSize && $0.hasher.algorithm == algorithm ? $0 : nil }
                ?? resumeFromDisk(id, storedSize: storedSize, algorithm: algorithm)
        } catch {
            await sessions.checkin(id, state: nil)
            throw error
        }
        if let expectedOffset, expectedOffset != state.offset {
            await sessions.checkin(id, state: state)
            throw RegistryError.uploadRangeInvalid(storedSize: state.offset)
        }
        return UploadWriter(id: id, repository: repository, file: state.file, hasher: state.hasher, offset: state.offset)
    }

    /// Rebuilds a session after a restart (or a failed request): the file is cut back
    /// to the acknowledged size and hashed once. This is the only path that re-reads
    /// upload bytes.
    private func resumeFromDisk(_ id: UploadID, storedSize: Int64, algorithm: Digest.Algorithm) throws -> UploadSessions.State {
        guard let file = try store.openUploadFile(id) else { throw RegistryError.uploadUnknown(id.value) }
        let size = min(try file.size(), storedSize)
        try file.truncate(to: size)
        let hasher = try Self.hash(file, length: size, algorithm: algorithm)
        return UploadSessions.State(file: file, hasher: hasher, offset: size)
    }

    static func hash(_ file: DiskFile, length: Int64, algorithm: Digest.Algorithm) throws -> DigestHasher {
        var hasher = DigestHasher(algorithm: algorithm)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while offset < length {
            let n = try file.read(into: buffer, at: offset)
            guard n > 0 else { break }
            let take = min(n, Int(length - offset))
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<take]))
            offset += Int64(take)
        }
        return hasher
    }

    /// Ends a request that appended a chunk: the new size is recorded, so a restarted
    /// server continues from exactly what the client was told.
    public func endAppend(_ writer: UploadWriter) async throws {
        do {
            try writer.flush()
            let offset = writer.offset
            try await write { db in
                try db.execute(sql: """
                    UPDATE uploads SET size = ?, updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = ?
                    """, arguments: [offset, writer.id.value])
                guard db.changesCount == 1 else { throw RegistryError.uploadUnknown(writer.id.value) }
            }
        } catch {
            await abortAppend(writer)
            throw error
        }
        await sessions.checkin(writer.id, state: .init(file: writer.file, hasher: writer.hasher, offset: writer.offset))
    }

    /// Ends a request that failed mid-body: the bytes it wrote are cut off, so the
    /// session is exactly as before the request.
    public func abortAppend(_ writer: UploadWriter) async {
        try? writer.file.truncate(to: writer.startOffset)
        writer.file.close()
        await sessions.checkin(writer.id, state: nil)
    }

    /// Completes the upload as `digest`: verifies the bytes, then in one write
    /// transaction either links the existing blob (moving the file into `blobs/` when
    /// the blob's file was lost) or moves the file into `blobs/` and inserts its row.
    /// If the transaction fails, the move is undone.
    public func finishUpload(_ writer: UploadWriter, digest: Digest, audit: AuditContext) async throws -> BlobInfo {
        let size = writer.offset
        do {
            try writer.flush()
            let computed = writer.hasher.algorithm == digest.algorithm
                ? writer.hasher.finalize()
                : try Self.hash(writer.file, length: size, algorithm: digest.algorithm).finalize()
            guard computed == digest else {
                try await cancelUpload(writer.repository, writer.id, audit: audit, holding: true)
                throw RegistryError.digestInvalid("the uploaded content has digest \(computed), not \(digest)")
            }
            if store.syncWrites { try writer.file.sync() }
        } catch {
            if case RegistryError.digestInvalid = error { throw error }
            await abortAppend(writer)
            throw error
        }
        let id = writer.id, repository = writer.repository, lease = leaseSQL, store = self.store
        // Set when the upload file is (being) moved under the blob's name, so a rollback
        // (of the new row, or of a restore) puts it back where the session expects it:
        // the session's descriptor is cut back on failure and must not cut a blob file.
        let moving = MoveFlag()
        let moved: Bool
        do {
            moved = try await write { db -> Bool in
                guard let repositoryID = try Int64.fetchOne(db, sql: "SELECT repository_id FROM uploads WHERE id = ?", arguments: [id.value])
                else { throw RegistryError.uploadUnknown(id.value) }
                let exists = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM blobs WHERE digest = ?)", arguments: [digest.description]) ?? false
                do {
                    if exists {
                        try db.execute(sql: "UPDATE blobs SET protected_until = max(protected_until, \(lease)) WHERE digest = ?",
                                       arguments: [digest.description])
                        // The row exists but its file was lost (`registry check` reports it):
                        // these verified bytes restore it. Under the write lock, so of two
                        // re-pushes of the blob only the first restores it; a failure fails
                        // the request rather than answering 201 for a blob that is not there.
                        if !store.blobExists(digest) {
                            moving.set(.restore)
                            try store.moveUploadIntoPlace(id, as: digest)
                        }
                    } else {
                        moving.set(.newBlob)
                        try store.moveUploadIntoPlace(id, as: digest)
                        try db.execute(sql: "INSERT INTO blobs(digest, size, protected_until) VALUES (?, ?, \(lease))",
                                       arguments: [digest.description, size])
                    }
                    try db.execute(sql: "INSERT OR IGNORE INTO repository_blobs(repository_id, digest) VALUES (?, ?)",
                                   arguments: [repositoryID, digest.description])
                    try db.execute(sql: "DELETE FROM uploads WHERE id = ?", arguments: [id.value])
                    try Self.recordAudit(db, audit, action: "blob.upload", repository: repository, digest: digest.description, size: size)
                } catch {
                    // Still under the write lock: no other request sees the file meanwhile.
                    if moving.get() != nil { store.moveBackToUpload(digest, id: id) }
                    moving.set(nil)
                    throw error
                }
                return moving.get() != nil
            }
        } catch {
            // The commit itself failed (the transaction rolled back), outside the write lock.
            switch moving.get() {
            case .newBlob:
                // Put the bytes back, unless another upload of the blob has meanwhile
                // committed the file under its own row.
                if await !blobRowExists(digest) { store.moveBackToUpload(digest, id: id) }
            case .restore:
                // The restored file is right for the row that was already there, and another
                // re-push may have counted on it: it stays. The session lost its file.
                writer.file.close()
                await sessions.checkin(id, state: nil)
                throw error
            case nil:
                break
            }
            await abortAppend(writer)
            throw error
        }
        writer.file.close()
        if !moved { store.removeUploadFile(id) }
        await sessions.remove(id)
        return BlobInfo(digest: digest, size: size)
    }

    private func blobRowExists(_ digest: Digest) async -> Bool {
        (try? await read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM blobs WHERE digest = ?)", arguments: [digest.description]) ?? false
        }) ?? true
    }

    /// Closes the open files of upload sessions idle for `age` (by default a minute, or
    /// `gc.upload_timeout` when shorter). Such a session continues normally later: the
    /// next request reopens its file and hashes it again. Returns how many were closed.
    @discardableResult
    public func evictIdleUploadSessions(olderThan age: Duration? = nil) async -> Int {
        await sessions.evictIdle(olderThan: age ?? sessions.evictionAge)
    }

    /// Cancels the session: its row and its file go. `holding` is true when the caller
    /// already holds the session (it then gives it up).
    public func cancelUpload(_ repository: RepositoryName, _ id: UploadID, audit: AuditContext, holding: Bool = false) async throws {
        if !holding { _ = try await sessions.checkout(id) }
        let idleLimit = uploadIdleLimitSQL
        do {
            try await write { db in
                guard try Self.uploadRow(db, repository, id, idleLimit: idleLimit) != nil else { throw RegistryError.uploadUnknown(id.value) }
                try db.execute(sql: "DELETE FROM uploads WHERE id = ?", arguments: [id.value])
            }
        } catch {
            await sessions.checkin(id, state: nil)
            throw error
        }
        store.removeUploadFile(id)
        await sessions.remove(id)
    }
}

/// Whether `finishUpload` has moved (or is moving) the session's file under the blob's
/// name, and why, shared between the write transaction and the code that handles its
/// failure.
private final class MoveFlag: Sendable {
    enum Move { case newBlob, restore }
    private let value = Mutex<Move?>(nil)
    func set(_ move: Move?) { value.withLock { $0 = move } }
    func get() -> Move? { value.withLock { $0 } }
}
