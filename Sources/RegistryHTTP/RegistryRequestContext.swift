import Foundation
import Hummingbird
import NIOCore
import RegistryCore

/// Per-request context: the client's address, a request id for logs, errors and
/// the audit trail, and the caller's identity.
public struct RegistryRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The connection (or HTTP/2 stream) the request came on, for an interim 100 Continue.
    let channel: any Channel
    /// Set from a sane incoming `X-Request-Id` by `RequestIDMiddleware`.
    public internal(set) var requestID: String
    /// Who is calling, set by the access control before any controller runs.
    public internal(set) var identity: Identity = .unrestricted {
        didSet { trace.user = identity.user }
    }
    /// Shared with the middleware outside the access control (the access log).
    let trace = RequestTrace()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
        requestID = Self.makeRequestID()
    }

    /// Where blob bodies go out with sendfile(2): a table on plain HTTP/1 connections.
    /// Looked up when a blob is served, not for every request.
    var sendfile: SendfileJobs? { SendfileJobs.of(channel) }

    /// Manifests are collected with this limit; blobs always stream and are not limited by it.
    public var maxUploadSize: Int { 4 * 1024 * 1024 + 1 }

    static func makeRequestID() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    func audit(_ request: Request) -> AuditContext {
        AuditContext(
            actor: identity.actor,
            clientAddress: remoteAddress?.ipAddress,
            userAgent: request.headers[.userAgent],
            requestID: requestID
        )
    }
}
