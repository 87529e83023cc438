import HummingbirdCore
import Logging
import RegistryCore
import NIOCore
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 channel with the connection timeouts of `http.*`: a
/// `ConnectionTimeoutHandler` next to the socket (after TLS, when TLS is on) and a
/// `RequestProgressHandler` after the HTTP codec, sharing one `ConnectionActivity`.
/// Without TLS (`sendfile`), a `SendfileHandler` before the codec sends blob bodies
/// with sendfile(2).
struct TimedHTTP1Channel: HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let responder: HTTPChannelHandler.Responder
    let limits: ConnectionTimeoutHandler.Limits
    let sendfile: Bool

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let activity = NIOLoopBound(ConnectionActivity(), eventLoop: channel.eventLoop)
        let http1 = HTTP1Channel(responder: responder, configuration: .init(
            additionalChannelHandlers: [RequestProgressHandler(activity: activity.value)]))
        return channel.eventLoop.makeCompletedFuture {
            // Reads grow up to 256 KiB while a body streams in (NIO stops at 64 KiB): a push
            // takes a quarter of the reads and of the buffers handed to its task. Larger
            // reads buy little more and cost memory: the channel and the body stream
            // buffer up to 14 reads per upload.
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
            try channel.pipeline.syncOperations.addHandler(
                ConnectionTimeoutHandler(activity: activity.value, limits: limits, logger: logger))
        }.flatMap {
            http1.setup(channel: channel, logger: logger)
        }.flatMapThrowing { [sendfile] value in
            if sendfile {
                let operations = channel.pipeline.syncOperations
                let codec = try operations.handler(type: HTTP1ToHTTPServerCodec.self)
                try operations.addHandler(SendfileHandler(jobs: SendfileJobs()), position: .before(codec))
            }
            return value
        }
    }

    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 256 << 10)

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}
