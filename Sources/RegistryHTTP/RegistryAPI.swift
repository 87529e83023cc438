import HTTPTypes
import Hummingbird
import RegistryCore

/// Dispatches every `/v2` request: the path is parsed from the right by
/// `RegistryRoute`, then handed to the controller for its resource.
struct RegistryAPI: Sendable {
    let blobs: BlobController
    let uploads: UploadController
    let manifests: ManifestController
    let listings: ListingController
    let referrers: ReferrersController
    let admission: WriteAdmission

    init(registry: Registry) {
        admission = WriteAdmission(configuration: registry.configuration)
        blobs = BlobController(registry: registry)
        uploads = UploadController(registry: registry, admission: admission)
        manifests = ManifestController(registry: registry)
        listings = ListingController(registry: registry)
        referrers = ReferrersController(registry: registry)
    }

    func handle(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        guard let route = context.trace.route(of: request.uri.path) else {
            if request.uri.path.hasPrefix("/v2/") {
                throw OCIError(.nameInvalid, status: .notFound, detail: "no registry endpoint matches \(request.uri.path)")
            }
            throw OCIError(.notFound, detail: "no such endpoint: \(request.uri.path)")
        }
        try admission.check(request.method)
        do {
            return try await dispatch(route, request, context: context)
        } catch {
            admission.failed(error)
            throw error
        }
    }

    private func dispatch(_ route: RegistryRoute, _ request: Request, context: RegistryRequestContext) async throws -> Response {
        let method = request.method
        switch (route, method) {
        case (.base, .get), (.base, .head):
            return Response(status: .ok, headers: [.contentType: "application/json", .contentLength: "2"],
                            body: method == .head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
        case (.catalog, .get):
            return try await listings.catalog(request, context: context)
        case (.tags(let name), .get):
            return try await listings.tags(request, context: context, name: name)
        case (.manifest(let name, let reference), .get), (.manifest(let name, let reference), .head):
            return try await manifests.get(request, context: context, name: name, reference: reference)
        case (.manifest(let name, let reference), .put):
            return try await manifests.put(request, context: context, name: name, reference: reference)
        case (.manifest(let name, let reference), .delete):
            return try await manifests.delete(request, context: context, name: name, reference: reference)
        case (.blob(let name, let digest), .get), (.blob(let name, let digest), .head):
            return try await blobs.get(request, context: context, name: name, digest: digest)
        case (.blob(let name, let digest), .delete):
            return try await blobs.delete(request, context: context, name: name, digest: digest)
        case (.uploadStart(let name), .post):
            return try await uploads.start(request, context: context, name: name)
        case (.upload(let name, let id), .patch):
            return try await uploads.patch(request, context: context, name: name, id: id)
        case (.upload(let name, let id), .put):
            return try await uploads.finish(request, context: context, name: name, id: id)
        case (.upload(let name, let id), .get):
            return try await uploads.status(request, context: context, name: name, id: id)
        case (.upload(let name, let id), .delete):
            return try await uploads.cancel(request, context: context, name: name, id: id)
        case (.referrers(let name, let digest), .get):
            return try await referrers.get(request, context: context, name: name, digest: digest)
        default:
            throw OCIError(.unsupported, detail: "\(method) is not supported on \(request.uri.path)")
        }
    }
}
