import HummingbirdCore
import RegistryCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOHTTP2
import NIOSSL
import NIOTLS

extension HTTPServerBuilder {
    /// HTTP/2 or HTTP/1.1 (with the connection timeouts) over TLS with reloadable certificates.
    static func reloadableTLS(_ certificates: TLSCertificateStore, settings: HTTPSettings) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            ReloadableTLSChannel(
                http1: TimedHTTP1Channel(responder: responder, limits: .init(settings), sendfile: false),
                http2: HTTP2Channel(responder: responder, configuration: .init(idleTimeout: settings.idleTimeout)),
                certificates: certificates)
        }
    }
}
