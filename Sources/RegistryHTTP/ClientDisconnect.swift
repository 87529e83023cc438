import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// A client that goes away in the middle of a request (an aborted `podman push`,
/// `curl --max-time`) is not a server error. It is logged once at info with how far
/// the body got, and counted as its own outcome, nginx's 499 "client closed request"
/// (`RequestTelemetryMiddleware` reads the mark from the request's trace). What the
/// client had sent of an upload is undone by the controller as for any failed request.
enum ClientDisconnect {
    static let status = 499

    /// Errors that say the connection is gone or its sending side was closed mid-body.
    static func isDisconnect(_ error: any Error) -> Bool {
        switch error {
        case let error as IOError:
            [ECONNRESET, EPIPE, ENOTCONN, ETIMEDOUT].contains(error.errnoCode)
        case let error as ChannelError:
            [.eof, .ioOnClosedChannel, .alreadyClosed, .inputClosed, .outputClosed].contains(error)
        case let error as HTTPParserError:
            error == .invalidEOFState
        default:
            false
        }
    }

    /// Marks the request as cut off by its client, logs it, and answers what a client
    /// that only closed its sending side can still read: the body was incomplete.
    static func outcome(_ error: any Error, context: RegistryRequestContext) -> OCIError {
        context.trace.clientClosed = true
        let received = context.trace.received.value
        context.logger.info("client closed the connection after \(received) bytes", metadata: [
            "request_id": "\(context.requestID)", "bytes_in": "\(received)", "error": "\(error)",
        ])
        return OCIError(.sizeInvalid, message: "request body incomplete",
                        detail: "the connection was closed after \(received) bytes of the body", headers: [.connection: "close"])
    }
}
