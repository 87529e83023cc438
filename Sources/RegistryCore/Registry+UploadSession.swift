import OCI

/// What an upload operation does with its session when it succeeds.
enum UploadOutcome {
    /// The session continues: its file and running hash stay cached for the next request.
    case keep
    /// The session became a blob; it is gone.
    case finished
}

extension Registry {
    /// Takes the session for one request, runs `body` with its writer, and ends the
    /// session as `body` says, or, when anything throws, as the writer's `onFailure`
    /// says. This is the only place that checks a session out and back in.
    ///
    /// With `chunk.offset` (a Content-Range start), a chunk that does not continue the
    /// stored bytes is refused before anything is written; with `chunk.length`, so is
    /// one that would make the blob larger than `storage.max_blob_size`.
    func withUploadSession<T>(
        _ repository: RepositoryName, _ id: UploadID, chunk: UploadChunk, algorithm: Digest.Algorithm = .sha256,
        _ body: (inout UploadWriter) async throws -> (UploadOutcome, T)
    ) async throws -> T {
        var writer = try await checkOutSession(repository, id, chunk: chunk, algorithm: algorithm)
        do {
            let (outcome, value) = try await body(&writer)
            switch outcome {
            case .keep: await sessions.checkin(id, state: writer.state)
            case .finished: await sessions.remove(id)
            }
            return value
        } catch {
            await endFailedRequest(writer)
            throw error
        }
    }

    private func checkOutSession(
        _ repository: RepositoryName, _ id: UploadID, chunk: UploadChunk, algorithm: Digest.Algorithm
    ) async throws -> UploadWriter {
        let storedSize = try await uploadSize(repository, id)
        let cached = try await sessions.checkout(id)
        let state: UploadSessions.State
        do {
            if let cached, cached.offset == storedSize, cached.hasher.algorithm == algorithm {
                state = cached
            } else {
                cached?.file.close()
                state = try await resumeFromDisk(id, storedSize: storedSize, algorithm: algorithm)
            }
        } catch {
            await sessions.checkin(id, state: nil)
            throw error
        }
        if let offset = chunk.offset, offset != state.offset {
            await sessions.checkin(id, state: state)
            throw RegistryError.uploadRangeInvalid(storedSize: state.offset)
        }
        if let length = chunk.length, length > maxBlobSize - state.offset {
            await sessions.checkin(id, state: state)
            throw RegistryError.blobTooLarge(limit: maxBlobSize)
        }
        return UploadWriter(id: id, repository: repository, state: state)
    }

    /// Rebuilds a session after a restart (or a failed request): the file is cut back
    /// to the acknowledged size and hashed once. This is the only path that re-reads
    /// upload bytes.
    private func resumeFromDisk(_ id: UploadID, storedSize: Int64, algorithm: Digest.Algorithm) async throws -> UploadSessions.State {
        let store = self.store
        return try await BlockingIO.run {
            guard let file = try store.openUploadFile(id) else { throw RegistryError.uploadUnknown(id.value) }
            let size = min(try file.size(), storedSize)
            try file.truncate(to: size)
            let hasher = try file.hasher(length: size, algorithm: algorithm)
            return UploadSessions.State(file: file, hasher: hasher, offset: size)
        }
    }

    /// Ends a request that failed, as `writer.onFailure` says.
    private func endFailedRequest(_ writer: UploadWriter) async {
        await writer.settle()
        let file = writer.file, start = writer.startOffset
        switch writer.onFailure {
        case .rollBack:
            try? await BlockingIO.run {
                try? file.truncate(to: start)
                file.close()
            }
            await sessions.checkin(writer.id, state: nil)
        case .forget:
            file.close()
            await sessions.checkin(writer.id, state: nil)
        case .cancel:
            file.close()
            try? await deleteUploadSession(writer.repository, writer.id)
            await sessions.remove(writer.id)
        }
    }
}
