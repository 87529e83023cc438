import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// `Expect: 100-continue` (curl on uploads over 1 MiB, .NET and Java clients): the
/// client holds the body back until the server says 100 Continue, or waits a second
/// and sends it anyway. The 100 goes out when a handler first asks for the body,
/// which is after the request was admitted (authenticated, within the limits, its
/// upload session found). A request refused before that gets its final answer and
/// the body is never asked for. Any other expectation is refused with 417, as
/// RFC 9110 §10.1.1 allows.
struct ExpectContinueMiddleware: RouterMiddleware {
    typealias Context = RegistryRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let expectation = request.headers[.expect] else { return try await next(request, context) }
        guard expectation.lowercased() == "100-continue" else {
            throw OCIError(.unsupported, status: .expectationFailed, message: "expectation not supported",
                           detail: "only Expect: 100-continue is supported, not '\(expectation)'")
        }
        var request = request
        request.body = RequestBody(asyncSequence: ContinueOnFirstRead(body: request.body, channel: context.channel))
        return try await next(request, context)
    }
}

/// A request body that sends 100 Continue before its first read.
struct ContinueOnFirstRead: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let body: RequestBody
    let channel: any Channel

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        var channel: (any Channel)?

        mutating func next() async throws -> ByteBuffer? {
            if let channel {
                self.channel = nil
                try await channel.writeAndFlush(HTTPResponsePart.head(HTTPResponse(status: .continue)))
            }
            return try await base.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: body.makeAsyncIterator(), channel: channel)
    }
}
