import Hummingbird
import Logging
import RegistryCore

/// Builds the HTTP application from an opened registry, so that the executable and
/// the tests run the very same router.
public enum RegistryApplication {
    /// The router with access control set up from the registry's configuration. A
    /// configuration that cannot be loaded (unreadable htpasswd file, bad key) leaves
    /// every request refused with 503 and the reason logged: never open by mistake.
    /// `registry serve` uses `accessControl(for:logger:)` first so that it fails at start.
    public static func buildRouter(registry: Registry, accessLog: Logger? = nil) -> Router<RegistryRequestContext> {
        var logger = Logger(label: "stowage")
        logger.logLevel = .error
        let access: AccessControl
        do {
            access = try accessControl(for: registry, logger: logger)
        } catch {
            logger.error("access control is misconfigured; refusing every request", metadata: ["error": "\(error)"])
            access = AccessControl(failing: "\(error)", configuration: registry.configuration.auth, logger: logger)
        }
        return buildRouter(registry: registry, access: access, accessLog: accessLog)
    }

    public static func accessControl(for registry: Registry, logger: Logger) throws -> AccessControl {
        try AccessControl(configuration: registry.configuration.auth,
                          dataDirectory: registry.configuration.dataDirectory, logger: logger)
    }

    /// `accessLog`: where the one line per request goes (nil, or `log.access: false`: no access log).
    public static func buildRouter(registry: Registry, access: AccessControl, accessLog: Logger? = nil) -> Router<RegistryRequestContext> {
        let router = Router(context: RegistryRequestContext.self)
        let metrics = registry.configuration.metrics
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: RequestTelemetryMiddleware(
            metrics: metrics.enabled ? registry.metrics : nil, metricsPath: metrics.path,
            accessLog: registry.configuration.log.access ? accessLog : nil))
        router.add(middleware: RegistryErrorMiddleware())
        router.add(middleware: ExpectContinueMiddleware())
        router.add(middleware: AuthMiddleware(access: access))
        let api = RegistryAPI(registry: registry)
        let methods: [HTTPRequest.Method] = [.get, .head, .put, .post, .patch, .delete]
        for method in methods {
            for path in ["/v2", "/v2/**"] {
                router.on(RouterPath(path), method: method) { request, context in
                    try await api.handle(request, context: context)
                }
            }
        }
        HealthController(registry: registry).register(on: router)
        if metrics.enabled, metrics.listen.isEmpty {
            MetricsController(registry: registry, path: metrics.path).register(on: router)
        }
        if access.mode == .token {
            let tokens = TokenController(access: access)
            router.get("/auth/token") { request, context in try await tokens.get(request, context: context) }
            router.post("/auth/token") { request, context in try await tokens.post(request, context: context) }
        }
        return router
    }
}
