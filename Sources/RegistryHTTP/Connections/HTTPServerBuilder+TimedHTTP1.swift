import HummingbirdCore
import Logging
import RegistryCore
import NIOCore

extension HTTPServerBuilder {
    /// HTTP/1.1 with the connection timeouts, blob bodies sent with sendfile(2).
    static func timedHTTP1(_ settings: HTTPSettings) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in TimedHTTP1Channel(responder: responder, limits: .init(settings), sendfile: true) }
    }
}
