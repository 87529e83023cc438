import Hummingbird
import Logging
import NIOCore
import RegistryCore
import Synchronization

/// The outermost view of each request: counts the body bytes that came in and went
/// out, and once the response body has been written (so that a streamed blob's time
/// and size are included) records the request metrics and writes one access-log line.
struct RequestTelemetryMiddleware: RouterMiddleware {
    typealias Context = RegistryRequestContext
    /// Nil when metrics are off.
    let metrics: RegistryMetrics?
    let metricsPath: String
    let accessLog: Logger?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let received = context.trace.received
        var request = request
        request.body = RequestBody(asyncSequence: request.body.map { buffer in
            received.add(buffer.readableBytes)
            return buffer
        })
        guard metrics != nil || accessLog != nil else { return try await next(request, context) }
        let started = ContinuousClock.now
        let summary = Summary(method: request.method.rawValue, uri: request.uri.description, path: request.uri.path,
                              userAgent: request.headers[.userAgent], requestID: context.requestID,
                              remote: context.remoteAddress?.ipAddress, trace: context.trace,
                              // HTTP/2 streams are child channels of their connection.
                              protocol: context.channel.parent == nil ? "HTTP/1.1" : "HTTP/2")
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Errors are rendered inside; this is only a failure nobody could render.
            finish(summary, status: 500, received: received.value, sent: 0, started: started)
            throw error
        }
        if context.trace.clientClosed {
            // Nobody may be there to write to: count it now, not after the body.
            finish(summary, status: ClientDisconnect.status, received: received.value, sent: 0, started: started)
            return response
        }
        let sent = ByteCount(), channel = context.channel
        let status = response.status.code
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            do {
                try await body.write(writer.map { buffer in
                    sent.add(SendfileJobs.bodyLength(of: buffer, on: channel))
                    return buffer
                })
            } catch {
                finish(summary, status: status, received: received.value, sent: sent.value, started: started, aborted: true)
                throw error
            }
            finish(summary, status: status, received: received.value, sent: sent.value, started: started)
        }
        return response
    }

    /// What the access log needs, taken before the response body is written.
    struct Summary: Sendable {
        var method: String
        var uri: String
        var path: String
        var userAgent: String?
        var requestID: String
        var remote: String?
        var trace: RequestTrace
        var `protocol`: String
    }

    private func finish(
        _ request: Summary, status: Int, received: Int, sent: Int, started: ContinuousClock.Instant,
        aborted: Bool = false
    ) {
        let duration = ContinuousClock.now - started
        let route = RouteLabel.of(path: request.path, metricsPath: metricsPath, route: request.trace.route)
        metrics?.recordRequest(route: route, method: request.method, status: status, duration: duration,
                               bytesIn: received, bytesOut: sent)
        guard let accessLog else { return }
        var metadata: Logger.Metadata = [
            "method": .string(request.method),
            "path": .string(request.uri),
            "status": .stringConvertible(status),
            "bytes_in": .stringConvertible(received),
            "bytes_out": .stringConvertible(sent),
            "duration_ms": .string(duration.millisecondsText),
            "request_id": .string(request.requestID),
            "protocol": .string(request.protocol),
        ]
        if let address = request.remote { metadata["remote"] = .string(address) }
        if let user = request.trace.user { metadata["user"] = .string(user) }
        if let agent = request.userAgent { metadata["user_agent"] = .string(agent) }
        if aborted { metadata["aborted"] = "true" }
        accessLog.info("\(request.method) \(request.path) \(status)", metadata: metadata)
    }

}

/// A byte counter shared between the body stream and the post-write closure.
final class ByteCount: Sendable {
    private let count = Atomic<Int>(0)
    func add(_ n: Int) { count.add(n, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
