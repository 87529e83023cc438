/// The `route` label of the HTTP metrics: a small fixed set, never the raw path (a
/// repository name or a digest in a label would grow Prometheus without bound).
enum RouteLabel {
    /// `route`: the path's parse when the request already has it (`RequestTrace.route`).
    static func of(path: String, metricsPath: String, route: RegistryRoute? = nil) -> String {
        if let route = route ?? RegistryRoute.parse(path) {
            return of(route)
        }
        switch path {
        case "/auth/token": return "token"
        case "/healthz", "/readyz": return "health"
        case metricsPath: return "metrics"
        default: return "other"
        }
    }

    static func of(_ route: RegistryRoute) -> String {
        switch route {
        case .base: "base"
        case .catalog: "catalog"
        case .tags: "tags"
        case .manifest: "manifest"
        case .blob: "blob"
        case .uploadStart, .upload: "upload"
        case .referrers: "referrers"
        }
    }
}
