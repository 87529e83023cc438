import HTTPTypes
import Hummingbird

/// `WWW-Authenticate` values and the errors that carry them.
enum Challenge {
    static func basic(realm: String) -> String {
        "Basic realm=\(quoted(realm))"
    }

    static func bearer(realm: String, service: String, scope: String?, error: String?) -> String {
        var value = "Bearer realm=\(quoted(realm)),service=\(quoted(service))"
        if let scope { value += ",scope=\(quoted(scope))" }
        if let error { value += ",error=\(quoted(error))" }
        return value
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func unauthorized(_ challenge: String, detail: String) -> OCIError {
        OCIError(.unauthorized, detail: detail, headers: [.wwwAuthenticate: challenge])
    }

    static func tooManyFailures(retryAfter: Duration) -> OCIError {
        let seconds = max(1, Int(retryAfter.seconds.rounded(.up)))
        return OCIError(.tooManyRequests, message: "too many failed logins",
                        detail: "too many failed logins from this address; retry in \(seconds) s",
                        headers: [.retryAfter: String(seconds)])
    }

    /// The built-in token endpoint as this request reached the server:
    /// `<X-Forwarded-Proto or http>://<X-Forwarded-Host or Host>/auth/token`.
    static func ownTokenRealm(_ request: Request) -> String {
        let proto = request.headers[forwardedProto]?.split(separator: ",").first.map {
            $0.trimmingCharacters(in: .whitespaces)
        } ?? "http"
        let host = request.headers[forwardedHost]?.split(separator: ",").first.map {
            $0.trimmingCharacters(in: .whitespaces)
        } ?? request.head.authority ?? "localhost"
        return "\(proto)://\(host)/auth/token"
    }

    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let forwardedHost = HTTPField.Name("X-Forwarded-Host")!
}
