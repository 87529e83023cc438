import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import RegistryCore

/// Renders every failure in the OCI error format and stamps every response with the
/// API version and the request id. An error nobody expected is logged with the
/// request id and becomes a 500 that names it; nothing else ever reaches the client.
struct RegistryErrorMiddleware: RouterMiddleware {
    typealias Context = RegistryRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = try Self.ociError(for: error, request: request, context: context).response(from: request, context: context)
        }
        response.headers[.dockerDistributionAPIVersion] = "registry/2.0"
        response.headers[.requestID] = context.requestID
        return response
    }

    static func ociError(for error: any Error, request: Request, context: Context) -> OCIError {
        switch error {
        case let error as OCIError:
            return error
        case let error as RegistryError:
            return OCIError(error)
        case let error where ClientDisconnect.isDisconnect(error):
            return ClientDisconnect.outcome(error, context: context)
        case let error as HTTPParserError:
            return clientMistake(framing: error, context: context)
        case is NIOTooManyBytesError:
            return OCIError(.sizeInvalid, status: .contentTooLarge, message: "request body too large")
        case let error as StorageError where error.isOutOfSpace:
            // A full disk is the server's condition: retryable, and the partial bytes were undone.
            context.logger.error("disk full", metadata: ["request_id": "\(context.requestID)", "error": "\(error)"])
            return OCIError(.storageFull("\(error)"))
        case let error as HTTPError:
            switch error.status {
            case .notFound: return OCIError(.notFound, detail: "no such endpoint: \(request.method) \(request.uri.path)")
            case .methodNotAllowed: return OCIError(.unsupported, detail: "\(request.method) is not supported here")
            case .contentTooLarge: return OCIError(.sizeInvalid, status: .contentTooLarge, message: "request body too large")
            case .badRequest: return OCIError(.unsupported, status: .badRequest, message: error.body ?? "bad request")
            default:
                if error.status.code < 500 {
                    return OCIError(.unknown, status: error.status, message: error.body ?? error.status.reasonPhrase)
                }
            }
        case is CancellationError:
            // The server is stopping and `shutdown_timeout` ran out: not a bug.
            context.logger.notice("request cut off by shutdown", metadata: ["request_id": "\(context.requestID)"])
            return OCIError(.unavailable, message: "the registry is shutting down", headers: [.retryAfter: "5"])
        default:
            break
        }
        context.logger.error("internal error", metadata: ["request_id": "\(context.requestID)", "error": "\(String(reflecting: error))"])
        return OCIError(.unknown, message: "internal server error", detail: "request id \(context.requestID)")
    }

    /// A body the HTTP parser could not frame (bad chunk sizes, unknown transfer
    /// codings) is the client's mistake: 400, and the connection is closed since its
    /// framing is lost. (A body cut short by the client closing its side is a
    /// `ClientDisconnect`, matched before.)
    static func clientMistake(framing error: HTTPParserError, context: Context) -> OCIError {
        context.logger.notice("malformed request", metadata: ["request_id": "\(context.requestID)", "error": "\(error)"])
        return OCIError(.unsupported, status: .badRequest, message: "malformed request body",
                        detail: "the body's framing is invalid: \(error)", headers: [.connection: "close"])
    }
}
