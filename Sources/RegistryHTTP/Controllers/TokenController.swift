import Foundation
import HTTPTypes
import Hummingbird
import RegistryCore

/// The built-in token service, `GET /auth/token?service=&scope=…` (the Docker
/// registry token specification) and `POST /auth/token` (its OAuth2 password grant).
/// Users log in with HTTP Basic against the htpasswd users; without credentials the
/// caller is anonymous. The token grants the requested scopes as far as the policy allows.
struct TokenController: Sendable {
    let access: AccessControl

    struct TokenResponse: Encodable {
        var token: String
        var accessToken: String
        var expiresIn: Int
        var issuedAt: String
        var scope: String?

        enum CodingKeys: String, CodingKey {
            case token, accessToken = "access_token", expiresIn = "expires_in", issuedAt = "issued_at", scope
        }
    }

    func get(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let challenge = Challenge.basic(realm: access.configuration.realm)
        let user = try await access.basicUser(request, context: context, challenge: challenge)
        let scopes = TokenScope.parseAll(query[values: "scope"].map(String.init))
        return try await issue(user: user, scopes: scopes, service: query["service"].map(String.init), oauth: false)
    }

    /// A password grant is a few hundred bytes; the endpoint needs no credentials to
    /// reach this parser, so the form is bounded well below what could hurt.
    static let maxFormSize = 16 * 1024

    func post(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        if let declared = try RequestParsing.contentLength(request), declared > Self.maxFormSize {
            throw OCIError(.sizeInvalid, status: .contentTooLarge, message: "request body too large",
                           detail: "a token request form is at most \(Self.maxFormSize) bytes")
        }
        var request = request
        let body = try await request.collectBody(upTo: Self.maxFormSize)
        let form = Self.parseForm(String(decoding: body.readableBytesView, as: UTF8.self))
        guard form["grant_type"] == "password" else {
            throw OCIError(.unsupported, status: .badRequest, message: "unsupported grant_type",
                           detail: "only grant_type=password is supported (or GET /auth/token with HTTP Basic)")
        }
        let credentials = BasicCredentials(user: form["username"] ?? "", password: form["password"] ?? "")
        var user: String?
        if !credentials.user.isEmpty {
            user = try await access.login(credentials, context: context, challenge: Challenge.basic(realm: access.configuration.realm))
        }
        let scopes = TokenScope.parseAll([form["scope"] ?? ""])
        return try await issue(user: user, scopes: scopes, service: form["service"], oauth: true)
    }

    private func issue(user: String?, scopes: [TokenScope], service: String?, oauth: Bool) async throws -> Response {
        guard let issuer = access.issuer else { throw OCIError(.notFound, detail: "the token endpoint is off") }
        if let service, !service.isEmpty, service != access.configuration.tokenService {
            throw OCIError(.denied, status: .badRequest, message: "unknown service",
                           detail: "this token service issues tokens for \(access.configuration.tokenService), not \(service)")
        }
        let granted = grant(user: user, scopes: scopes)
        let issued = try await issuer.issue(subject: user, access: granted)
        let grantedText = granted.map { "\($0.type):\($0.name):\($0.actions.joined(separator: ","))" }.joined(separator: " ")
        access.logger.info("token issued", metadata: [
            "subject": "\(user ?? "anonymous")", "requested": "\(scopes.count)", "granted": "\(grantedText)",
        ])
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let body = TokenResponse(token: issued.token, accessToken: issued.token, expiresIn: issued.expiresIn,
                                 issuedAt: formatter.string(from: issued.issuedAt), scope: oauth ? grantedText : nil)
        let data = try JSONEncoder().encode(body)
        return Response(status: .ok, headers: [.contentType: "application/json", .contentLength: String(data.count),
                                               .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The requested scopes as far as the policy allows them, one entry per resource.
    func grant(user: String?, scopes: [TokenScope]) -> [TokenAccess] {
        var granted: [TokenAccess] = []
        func add(_ type: String, _ name: String, _ actions: [String]) {
            if let index = granted.firstIndex(where: { $0.type == type && $0.name == name }) {
                granted[index].actions += actions.filter { !granted[index].actions.contains($0) }
            } else if !actions.isEmpty {
                granted.append(TokenAccess(type: type, name: name, actions: actions))
            }
        }
        let repositoryActions: [AuthConfiguration.Action] = [.pull, .push, .delete]
        for scope in scopes {
            switch scope.type {
            case "repository":
                let allowed = access.policy.actions(for: user, on: scope.name)
                let requested = scope.actions.contains("*") ? repositoryActions
                    : repositoryActions.filter { scope.actions.contains($0.rawValue) }
                add("repository", scope.name, requested.filter(allowed.contains).map(\.rawValue))
            case "registry" where scope.name == "catalog":
                if access.policy.mayListCatalog(user) { add("registry", "catalog", ["*"]) }
            default:
                continue
            }
        }
        return granted
    }

    /// `application/x-www-form-urlencoded`: `+` is a space, then percent-decoding.
    static func parseForm(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                let spaced = part.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            let key = decode(parts[0])
            let value = parts.count > 1 ? decode(parts[1]) : ""
            if let existing = fields[key] { fields[key] = existing + " " + value } else { fields[key] = value }
        }
        return fields
    }
}
