import HummingbirdCore
import Logging
import RegistryCore
import NIOCore

/// Hummingbird's HTTP/1 channel with the connection timeouts of `http.*`: a
/// `ConnectionTimeoutHandler` next to the socket (after TLS, when TLS is on) and a
/// `RequestProgressHandler` after the HTTP codec, sharing one `ConnectionActivity`.
struct TimedHTTP1Channel: HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let responder: HTTPChannelHandler.Responder
    let limits: ConnectionTimeoutHandler.Limits

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let activity = NIOLoopBound(ConnectionActivity(), eventLoop: channel.eventLoop)
        let http1 = HTTP1Channel(responder: responder, configuration: .init(
            additionalChannelHandlers: [RequestProgressHandler(activity: activity.value)]))
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                ConnectionTimeoutHandler(activity: activity.value, limits: limits, logger: logger))
        }.flatMap {
            http1.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}
