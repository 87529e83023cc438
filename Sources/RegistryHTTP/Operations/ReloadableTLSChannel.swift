import HummingbirdCore
import RegistryCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOHTTP2
import NIOSSL
import NIOTLS

/// HTTPS where the certificate can change while the server runs (the TLS handler of
/// each accepted connection is built from the store's current context), speaking
/// HTTP/2 or HTTP/1.1 as ALPN decides (`h2` first, as distribution does; a client
/// that offers nothing gets HTTP/1.1).
struct ReloadableTLSChannel: HTTPChannelHandler {
    typealias Negotiated = NIONegotiatedHTTPVersion<TimedHTTP1Channel.Value, HTTP2Channel.Value>

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    let http1: TimedHTTP1Channel
    let http2: HTTP2Channel
    let certificates: TLSCertificateStore

    var responder: HTTPChannelHandler.Responder { http1.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = certificates.context
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
            try channel.pipeline.syncOperations.addHandler(TLSHandshakeTimeoutHandler(limit: http1.limits.head))
            let negotiation = NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { result in
                switch result {
                case .negotiated("h2"):
                    http2.setup(channel: channel, logger: logger).map { .http2($0) }
                default:
                    http1.setup(channel: channel, logger: logger).map { .http1_1($0) }
                }
            }
            try channel.pipeline.syncOperations.addHandler(negotiation)
            return Value(negotiated: negotiation.protocolNegotiationResult, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http1_1(let connection): await http1.handle(value: connection, logger: logger)
            case .http2(let connection): await http2.handle(value: connection, logger: logger)
            }
        } catch {
            logger.debug("TLS or protocol negotiation failed", metadata: ["error": "\(error)"])
        }
    }
}
