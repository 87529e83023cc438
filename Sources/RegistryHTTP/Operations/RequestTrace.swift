import Synchronization

/// What the inner middleware learn about a request that the access log, which runs
/// outside them, needs: the context is a value, so they write it here.
final class RequestTrace: Sendable {
    private let state = Mutex<String?>(nil)

    /// The authenticated user, when there is one.
    var user: String? {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
