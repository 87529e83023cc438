import HTTPTypes
import Hummingbird
import NIOCore
import OCI
import RegistryCore

/// `HEAD`/`GET`/`PUT`/`DELETE /v2/<name>/manifests/<reference>`.
struct ManifestController: Sendable {
    let registry: Registry

    func get(_ request: Request, context: RegistryRequestContext, name: String, reference rawReference: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let reference = try RequestParsing.reference(rawReference, for: .lookup)
        let manifest = try await registry.manifest(repository, reference)
        let etag = EntityTag(manifest.digest)
        var headers: HTTPFields = [
            .dockerContentDigest: manifest.digest.description,
            .eTag: etag.field,
        ]
        if etag.isMatched(byIfNoneMatchIn: request.headers) {
            // A client checking that its copy is current still pulls the image.
            if request.method == .get {
                registry.recordPull(repository, reference, digest: manifest.digest, audit: context.audit(request))
            }
            return EntityTag.notModified(headers)
        }
        headers[.contentType] = manifest.mediaType
        headers[.contentLength] = String(manifest.payload.count)
        if request.method == .head {
            return Response(status: .ok, headers: headers, body: ResponseBody())
        }
        registry.recordPull(repository, reference, digest: manifest.digest, audit: context.audit(request))
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: manifest.payload)))
    }

    func put(_ request: Request, context: RegistryRequestContext, name: String, reference rawReference: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let reference = try RequestParsing.reference(rawReference, for: .create)
        let limit = registry.configuration.maxManifestSize
        if let declared = try RequestParsing.contentLength(request), declared > limit {
            throw RegistryError.manifestTooLarge(limit: limit)
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw RegistryError.manifestTooLarge(limit: limit)
        }
        let result = try await registry.putManifest(
            repository, reference: reference, payload: Array(body.readableBytesView),
            contentType: request.headers[.contentType], audit: context.audit(request))
        var headers: HTTPFields = [
            .location: "/v2/\(repository)/manifests/\(result.digest)",
            .dockerContentDigest: result.digest.description,
            .contentLength: "0",
        ]
        if let subject = result.subject {
            headers[.ociSubject] = subject.description
        }
        return Response(status: .created, headers: headers)
    }

    func delete(_ request: Request, context: RegistryRequestContext, name: String, reference rawReference: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let reference = try RequestParsing.reference(rawReference, for: .lookup)
        try await registry.deleteManifest(repository, reference, audit: context.audit(request))
        return Response(status: .accepted, headers: [.contentLength: "0"])
    }
}
