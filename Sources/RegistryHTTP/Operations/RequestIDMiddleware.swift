import HTTPTypes
import Hummingbird

/// Gives each request its id: the caller's `X-Request-Id` when it is sane (a proxy or
/// a client tracing its calls), otherwise a fresh one. The id is echoed in the
/// response header (by `RegistryErrorMiddleware`), written in the access log and the
/// audit trail, and set on the request's logger.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = RegistryRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let incoming = request.headers[.requestID], Self.isSane(incoming) {
            context.requestID = incoming
        }
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        return try await next(request, context)
    }

    /// 1 to 128 characters of letters, digits and `-_.:`: what tracing systems and
    /// proxies use (UUIDs, hex ids), and nothing that could break a log line or a header.
    static func isSane(_ id: String) -> Bool {
        guard (1...128).contains(id.utf8.count) else { return false }
        return id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                 UInt8(ascii: "."), UInt8(ascii: ":"):
                true
            default:
                false
            }
        }
    }
}
