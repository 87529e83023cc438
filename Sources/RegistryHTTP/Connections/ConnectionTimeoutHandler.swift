import Logging
import NIOCore
import RegistryCore

/// Closes HTTP/1 connections that hold the server without making progress. It sits
/// next to the socket (after TLS), where it sees every byte, the server's requests
/// for more and the socket's writability; `RequestProgressHandler` tells it where
/// requests begin and end. A check runs a few times per shortest timeout:
///
/// - idle keep-alive (`http.idle_timeout`): closed quietly;
/// - a request head not complete within `http.request_head_timeout` of its first
///   byte (slowloris): answered 408 and closed;
/// - a body from which no byte arrives for `http.body_idle_timeout` while the server
///   waits for it, or a response the client stops reading for as long: closed (the
///   request then fails as a client disconnect, and nothing partial is kept).
final class ConnectionTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Limits: Sendable {
        var idle: TimeAmount
        var head: TimeAmount
        var body: TimeAmount

        init(_ settings: HTTPSettings) {
            idle = TimeAmount(settings.idleTimeout)
            head = TimeAmount(settings.requestHeadTimeout)
            body = TimeAmount(settings.bodyIdleTimeout)
        }

        /// How often to look: a quarter of the shortest timeout, between 10 ms and 1 s.
        var checkInterval: TimeAmount {
            let shortest = min(idle, head, body).nanoseconds / 4
            return .nanoseconds(max(10_000_000, min(1_000_000_000, shortest)))
        }
    }

    let activity: ConnectionActivity
    private let limits: Limits
    private let logger: Logger
    private var check: Scheduled<Void>?

    init(activity: ConnectionActivity, limits: Limits, logger: Logger) {
        self.activity = activity
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { scheduleCheck(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        scheduleCheck(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        activity.bytesArrived(unwrapInboundIn(data).readableBytes, now: .now())
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        activity.readRequested(now: .now())
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        activity.writabilityChanged(writable: context.channel.isWritable, now: .now())
        context.fireChannelWritabilityChanged()
    }

    private func scheduleCheck(_ context: ChannelHandlerContext) {
        guard check == nil else { return }
        check = context.eventLoop.assumeIsolated().scheduleTask(in: limits.checkInterval) {
            self.check = nil
            self.runCheck(context)
        }
    }

    private func runCheck(_ context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        let verdict = activity.verdict(now: .now(), idle: limits.idle, head: limits.head, body: limits.body)
        switch verdict {
        case .keep:
            scheduleCheck(context)
            return
        case .idle:
            logger.debug("closing idle connection")
        case .headTimeout:
            logger.notice("closing connection: request head not received in time", metadata: metadata(context))
            context.writeAndFlush(wrapOutboundOut(Self.requestTimeout(context.channel.allocator)), promise: nil)
        case .bodyStalled:
            logger.notice("closing connection: the request body stalled", metadata: metadata(context))
        case .sendStalled:
            logger.notice("closing connection: the client stopped reading the response", metadata: metadata(context))
        }
        context.close(promise: nil)
    }

    private func metadata(_ context: ChannelHandlerContext) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["body_bytes": "\(activity.bodyBytes)"]
        if let remote = context.channel.remoteAddress?.ipAddress { metadata["remote"] = .string(remote) }
        return metadata
    }

    /// Written below the HTTP codec, which is in the middle of a head it cannot finish.
    private static func requestTimeout(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        allocator.buffer(string: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    }
}

@available(*, unavailable)
extension ConnectionTimeoutHandler: Sendable {}
