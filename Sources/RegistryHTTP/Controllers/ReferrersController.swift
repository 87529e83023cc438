import Foundation
import HTTPTypes
import Hummingbird
import OCI
import RegistryCore

/// `GET /v2/<name>/referrers/<digest>[?artifactType=]`: an OCI index of the
/// manifests whose `subject` is the digest.
struct ReferrersController: Sendable {
    let registry: Registry

    func get(_ request: Request, context: RegistryRequestContext, name: String, digest rawDigest: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let digest = try RequestParsing.digest(rawDigest)
        let artifactType = request.uri.queryParameters["artifactType"].map(String.init)
        let referrers = try await registry.referrers(repository, subject: digest, artifactType: artifactType)
        let index = ImageIndex(manifests: referrers.map { referrer in
            ImageIndex.Entry(
                mediaType: referrer.mediaType, digest: referrer.digest, size: referrer.size,
                artifactType: referrer.artifactType,
                annotations: referrer.annotationsJSON.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) })
        })
        let bytes = index.encoded()
        var headers: HTTPFields = [.contentType: MediaType.ociIndex, .contentLength: String(bytes.count)]
        if artifactType != nil {
            headers[.ociFiltersApplied] = "artifactType"
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
