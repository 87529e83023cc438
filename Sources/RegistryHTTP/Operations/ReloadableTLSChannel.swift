import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// HTTP over TLS where the certificate can change while the server runs: the TLS
/// handler of each accepted connection is built from the store's current context.
struct ReloadableTLSChannel<Base: HTTPChannelHandler>: HTTPChannelHandler {
    typealias Value = Base.Value
    let base: Base
    let certificates: TLSCertificateStore

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = certificates.context
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 (keep-alive as usual) over TLS with reloadable certificates.
    static func reloadableTLS(_ certificates: TLSCertificateStore) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            ReloadableTLSChannel(base: HTTP1Channel(responder: responder), certificates: certificates)
        }
    }
}
