import HTTPTypes
import Hummingbird
import OCI
import RegistryCore

/// `/v2/<name>/blobs/uploads/[<id>]`: monolithic, chunked and streamed uploads,
/// status, cancel and cross-repository mount.
struct UploadController: Sendable {
    let registry: Registry
    let admission: WriteAdmission

    /// `POST /v2/<name>/blobs/uploads/` with `?digest=` (monolithic), `?mount=&from=`
    /// (mount, falling back to a session) or nothing (a new session).
    func start(_ request: Request, context: RegistryRequestContext, name: String) async throws -> Response {
        try await admission.withUploadSlot(isNew: true) { try await startAdmitted(request, context: context, name: name) }
    }

    private func startAdmitted(_ request: Request, context: RegistryRequestContext, name: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let query = request.uri.queryParameters
        let audit = context.audit(request)
        if let mount = query["mount"] {
            let digest = try RequestParsing.digest(String(mount))
            // Mounting needs pull on the source; without it the client gets an ordinary
            // session, exactly as for a blob the source does not have: nothing leaks.
            if let from = query["from"], let source = RepositoryName(String(from)),
               context.identity.allows(.pull, on: source.value),
               let blob = try await registry.mountBlob(digest, into: repository, from: source, audit: audit) {
                return created(repository, blob)
            }
        } else if let rawDigest = query["digest"] {
            let digest = try RequestParsing.digest(String(rawDigest))
            let id = try await registry.startUpload(repository, audit: audit)
            let writer = try await registry.beginAppend(repository, id, algorithm: digest.algorithm)
            do {
                try await receive(request, into: writer, range: nil)
            } catch {
                await registry.abortAppend(writer)
                try? await registry.cancelUpload(repository, id, audit: audit)
                throw error
            }
            do {
                return created(repository, try await registry.finishUpload(writer, digest: digest, audit: audit))
            } catch {
                // A monolithic upload leaves no session behind (a digest mismatch already removed it).
                try? await registry.cancelUpload(repository, id, audit: audit)
                throw error
            }
        }
        let id = try await registry.startUpload(repository, audit: audit)
        return Response(status: .accepted, headers: sessionHeaders(repository, id, size: 0))
    }

    /// `PATCH`: appends a chunk (with `Content-Range`) or the streamed rest (without).
    func patch(_ request: Request, context: RegistryRequestContext, name: String, id rawID: String) async throws -> Response {
        try await admission.withUploadSlot(isNew: false) { try await append(request, name: name, id: rawID) }
    }

    private func append(_ request: Request, name: String, id rawID: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let id = try RequestParsing.uploadID(rawID)
        let range = try RequestParsing.contentRange(request)
        let writer = try await registry.beginAppend(repository, id, expectedOffset: range?.lowerBound)
        do {
            try await receive(request, into: writer, range: range)
        } catch {
            await registry.abortAppend(writer)
            throw error
        }
        try await registry.endAppend(writer)
        return Response(status: .accepted, headers: sessionHeaders(repository, id, size: writer.offset))
    }

    /// `PUT ?digest=`: the last chunk (optional) and completion.
    func finish(_ request: Request, context: RegistryRequestContext, name: String, id rawID: String) async throws -> Response {
        try await admission.withUploadSlot(isNew: false) { try await complete(request, audit: context.audit(request), name: name, id: rawID) }
    }

    private func complete(_ request: Request, audit: AuditContext, name: String, id rawID: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let id = try RequestParsing.uploadID(rawID)
        guard let rawDigest = request.uri.queryParameters["digest"] else {
            throw OCIError(.digestInvalid, detail: "the digest query parameter is required to complete an upload")
        }
        let digest = try RequestParsing.digest(String(rawDigest))
        let range = try RequestParsing.contentRange(request)
        let writer = try await registry.beginAppend(repository, id, expectedOffset: range?.lowerBound, algorithm: digest.algorithm)
        do {
            try await receive(request, into: writer, range: range)
        } catch {
            await registry.abortAppend(writer)
            throw error
        }
        let blob = try await registry.finishUpload(writer, digest: digest, audit: audit)
        return created(repository, blob)
    }

    func status(_ request: Request, context: RegistryRequestContext, name: String, id rawID: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let id = try RequestParsing.uploadID(rawID)
        let size = try await registry.uploadSize(repository, id)
        return Response(status: .noContent, headers: sessionHeaders(repository, id, size: size))
    }

    func cancel(_ request: Request, context: RegistryRequestContext, name: String, id rawID: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let id = try RequestParsing.uploadID(rawID)
        try await registry.cancelUpload(repository, id, audit: context.audit(request))
        return Response(status: .noContent, headers: [.contentLength: "0"])
    }

    /// Streams the request body into the session while it is hashed. The body must
    /// match `Content-Length` and the chunk's `Content-Range` when they are given. A blob
    /// that would pass `storage.max_blob_size` is refused as soon as that is known: from
    /// the headers, or at the chunk that crosses the limit, never after buffering the rest.
    private func receive(_ request: Request, into writer: UploadWriter, range: ClosedRange<Int64>?) async throws {
        let declared = try RequestParsing.contentLength(request)
        if let range, let declared, declared != Int64(range.count) {
            throw OCIError(.rangeInvalid, detail: "Content-Range covers \(range.count) bytes but Content-Length is \(declared)")
        }
        let limit = admission.maxBlobSize ?? .max
        if let declared, declared > limit - writer.offset { throw admission.blobTooLarge() }
        if let range, range.upperBound >= limit { throw admission.blobTooLarge() }
        for try await buffer in request.body {
            if Int64(buffer.readableBytes) > limit - writer.offset { throw admission.blobTooLarge() }
            try buffer.withUnsafeReadableBytes { raw in try writer.write(raw) }
        }
        let received = writer.bytesThisRequest
        if let declared, declared != received {
            throw RegistryError.sizeInvalid("received \(received) bytes, Content-Length said \(declared)")
        }
        if let range, Int64(range.count) != received {
            throw OCIError(.rangeInvalid, detail: "received \(received) bytes for Content-Range \(range.lowerBound)-\(range.upperBound)")
        }
    }

    private func sessionHeaders(_ repository: RepositoryName, _ id: UploadID, size: Int64) -> HTTPFields {
        [
            .location: "/v2/\(repository)/blobs/uploads/\(id)",
            .range: "0-\(max(size - 1, 0))",
            .dockerUploadUUID: id.value,
            .contentLength: "0",
        ]
    }

    private func created(_ repository: RepositoryName, _ blob: BlobInfo) -> Response {
        Response(status: .created, headers: [
            .location: "/v2/\(repository)/blobs/\(blob.digest)",
            .dockerContentDigest: blob.digest.description,
            .contentLength: "0",
        ])
    }
}
