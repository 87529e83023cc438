import Synchronization

/// What the inner middleware learn about a request that the access log, which runs
/// outside them, needs: the context is a value, so they write it here.
final class RequestTrace: Sendable {
    private struct State {
        var user: String?
        var route: RegistryRoute?
        var clientClosed = false
    }

    private let state = Mutex(State())

    /// Request body bytes received so far (counted by `RequestTelemetryMiddleware`).
    let received = ByteCount()

    /// The client went away mid-request (`ClientDisconnect`): counted as 499.
    var clientClosed: Bool {
        get { state.withLock { $0.clientClosed } }
        set { state.withLock { $0.clientClosed = newValue } }
    }

    /// The authenticated user, when there is one.
    var user: String? {
        get { state.withLock { $0.user } }
        set { state.withLock { $0.user = newValue } }
    }

    /// The parsed `/v2` route, once a middleware or the API has parsed the path (so
    /// the metrics need not parse it again).
    var route: RegistryRoute? {
        get { state.withLock { $0.route } }
        set { state.withLock { $0.route = newValue } }
    }

    /// The route parsed from `path` once per request: the stored one when there is one.
    func route(of path: String) -> RegistryRoute? {
        if let route { return route }
        let parsed = RegistryRoute.parse(path)
        if let parsed { route = parsed }
        return parsed
    }
}
