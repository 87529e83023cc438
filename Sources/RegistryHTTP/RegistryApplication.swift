import Hummingbird
import Logging
import RegistryCore

/// Builds the HTTP application from an opened registry, so that the executable and
/// the tests run the very same router.
public enum RegistryApplication {
    public static func buildRouter(registry: Registry) -> Router<RegistryRequestContext> {
        let router = Router(context: RegistryRequestContext.self)
        router.add(middleware: RegistryErrorMiddleware())
        let api = RegistryAPI(registry: registry)
        let methods: [HTTPRequest.Method] = [.get, .head, .put, .post, .patch, .delete]
        for method in methods {
            for path in ["/v2", "/v2/**"] {
                router.on(RouterPath(path), method: method) { request, context in
                    try await api.handle(request, context: context)
                }
            }
        }
        return router
    }

    public static func build(
        registry: Registry, host: String, port: Int, logger: Logger
    ) -> Application<RouterResponder<RegistryRequestContext>> {
        Application(
            router: buildRouter(registry: registry),
            configuration: .init(address: .hostname(host, port: port), serverName: "Stowage"),
            logger: logger
        )
    }
}
