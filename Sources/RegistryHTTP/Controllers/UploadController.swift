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
            let body = try UploadRequestBody(request)
            let blob = try await registry.pushBlob(repository, digest: digest, length: body.chunk.length, body: body, audit: audit)
            return created(repository, blob)
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
        let body = try UploadRequestBody(request)
        let size = try await registry.appendUpload(repository, id, chunk: body.chunk, body: body)
        return Response(status: .accepted, headers: sessionHeaders(repository, id, size: size))
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
        let body = try UploadRequestBody(request)
        let blob = try await registry.finishUpload(repository, id, digest: digest, chunk: body.chunk, body: body, audit: audit)
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
