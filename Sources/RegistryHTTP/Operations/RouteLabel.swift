/// The `route` label of the HTTP metrics: a small fixed set, never the raw path (a
/// repository name or a digest in a label would grow Prometheus without bound).
enum RouteLabel {
    static func of(path: String, metricsPath: String) -> String {
        if let route = RegistryRoute.parse(path) {
            switch route {
            case .base: return "base"
            case .catalog: return "catalog"
            case .tags: return "tags"
            case .manifest: return "manifest"
            case .blob: return "blob"
            case .uploadStart, .upload: return "upload"
            case .referrers: return "referrers"
            }
        }
        switch path {
        case "/auth/token": return "token"
        case "/healthz", "/readyz": return "health"
        case metricsPath: return "metrics"
        default: return "other"
        }
    }
}
