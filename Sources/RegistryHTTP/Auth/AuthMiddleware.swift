import Hummingbird

/// Establishes who is calling each `/v2` request and whether it may, before any
/// controller runs; the identity travels in the context (for the audit actor, the
/// catalog filter and cross-repository mounts).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = RegistryRequestContext
    let access: AccessControl

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard access.mode != .none || access.setupError != nil, path == "/v2" || path.hasPrefix("/v2/") else {
            return try await next(request, context)
        }
        let requirement = AccessRequirement(route: context.trace.route(of: path), method: request.method)
        var context = context
        context.identity = try await access.identify(request, context: context, requirement: requirement)
        return try await next(request, context)
    }
}
