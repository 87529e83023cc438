import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RegistryCore

/// Authentication and authorization of every `/v2` request, per the configured
/// mode: none, htpasswd (HTTP Basic) or token (Bearer JWTs, from the built-in
/// `/auth/token` or an external token service).
public final class AccessControl: Sendable {
    typealias Action = AuthConfiguration.Action

    let configuration: AuthConfiguration
    let policy: AccessPolicy
    /// The htpasswd users: for Basic in htpasswd mode, for the token endpoint in token mode.
    let authenticator: Authenticator?
    let verifier: TokenVerifier?
    let issuer: TokenIssuer?
    let logger: Logger
    /// Set when the configuration could not be loaded: every request is refused.
    let setupError: String?

    public var mode: AuthConfiguration.Mode { configuration.mode }

    /// Loads the htpasswd file and the token keys; a problem in them fails here, at start.
    public init(configuration: AuthConfiguration, dataDirectory: String, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        policy = AccessPolicy(configuration: configuration)
        setupError = nil
        switch configuration.mode {
        case .none:
            authenticator = nil
            verifier = nil
            issuer = nil
        case .htpasswd:
            guard let file = configuration.htpasswdFile else { throw AuthSetupError("auth mode htpasswd needs an htpasswd file") }
            authenticator = try Authenticator(path: file, failedLoginLimit: configuration.failedLoginLimit, logger: logger)
            verifier = nil
            issuer = nil
        case .token:
            authenticator = try configuration.htpasswdFile.map {
                try Authenticator(path: $0, failedLoginLimit: configuration.failedLoginLimit, logger: logger)
            } ?? Authenticator(path: nil, failedLoginLimit: configuration.failedLoginLimit, logger: logger)
            let key = try TokenKeys.signingKey(configured: configuration.tokenSigningKey, dataDirectory: dataDirectory)
            issuer = TokenIssuer(key: key, issuer: configuration.tokenIssuer, service: configuration.tokenService,
                                 lifetime: configuration.tokenLifetime)
            let trusted = try configuration.tokenVerificationKeys.map { try TokenVerificationKey(pem: $0) }
            verifier = TokenVerifier(keys: [key.publicKey] + trusted, issuer: configuration.tokenIssuer,
                                     service: configuration.tokenService)
        }
    }

    /// Refuses every request (503) because the configuration could not be loaded.
    init(failing reason: String, configuration: AuthConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        policy = AccessPolicy(rules: [], groups: [:])
        authenticator = nil
        verifier = nil
        issuer = nil
        setupError = reason
    }

    /// For the startup log.
    public var summary: String {
        switch mode {
        case .none: "none (anyone can push and pull)"
        case .htpasswd: "htpasswd (\(configuration.htpasswdFile ?? ""), \(authenticator?.userCount ?? 0) users, \(rulesSummary))"
        case .token:
            "token (realm \(configuration.tokenRealm ?? "<this server>/auth/token"), service \(configuration.tokenService), "
                + "\(authenticator?.userCount ?? 0) htpasswd users, \(rulesSummary))"
        }
    }

    private var rulesSummary: String {
        configuration.rules.isEmpty ? "every user may do everything" : "\(configuration.rules.count) access rules"
    }

    /// Who the caller is, if it may do what `requirement` says; otherwise the error
    /// to answer: 401 with a challenge, 403 DENIED, or 429 after too many failed logins.
    func identify(_ request: Request, context: RegistryRequestContext, requirement: AccessRequirement) async throws -> Identity {
        if let setupError {
            throw OCIError(.unavailable, message: "access control is not configured correctly", detail: setupError)
        }
        switch mode {
        case .none:
            return .unrestricted
        case .htpasswd:
            return try await identifyBasic(request, context: context, requirement: requirement)
        case .token:
            return try await identifyBearer(request, requirement: requirement)
        }
    }

    private func identifyBasic(_ request: Request, context: RegistryRequestContext, requirement: AccessRequirement) async throws -> Identity {
        let challenge = Challenge.basic(realm: configuration.realm)
        var identity = Identity(user: nil, rights: .policy(policy))
        if let user = try await basicUser(request, context: context, challenge: challenge) {
            identity = Identity(user: user, rights: .policy(policy))
        }
        if requirement.isSatisfied(by: identity) { return identity }
        guard identity.isAuthenticated else {
            throw Challenge.unauthorized(challenge, detail: "authentication required")
        }
        throw OCIError(.denied, detail: deniedDetail(requirement, user: identity.actor))
    }

    /// The user of valid Basic credentials; nil when there are none (an empty user
    /// name is what clients send when they have no credentials: anonymous).
    func basicUser(_ request: Request, context: RegistryRequestContext, challenge: String) async throws -> String? {
        guard let header = request.headers[.authorization], let credentials = BasicCredentials(header: header),
              !credentials.user.isEmpty
        else { return nil }
        return try await login(credentials, context: context, challenge: challenge)
    }

    /// Checks a user name and password; the error is 401 with `challenge`, or 429.
    func login(_ credentials: BasicCredentials, context: RegistryRequestContext, challenge: String) async throws -> String {
        guard let authenticator else { throw Challenge.unauthorized(challenge, detail: "invalid user name or password") }
        switch await authenticator.authenticate(credentials, from: context.remoteAddress?.ipAddress ?? "unknown") {
        case .success(let user): return user
        case .failure: throw Challenge.unauthorized(challenge, detail: "invalid user name or password")
        case .tooManyFailures(let wait): throw Challenge.tooManyFailures(retryAfter: wait)
        }
    }

    private func identifyBearer(_ request: Request, requirement: AccessRequirement) async throws -> Identity {
        let realm = configuration.tokenRealm ?? Challenge.ownTokenRealm(request)
        func challenge(_ error: String?) -> String {
            Challenge.bearer(realm: realm, service: configuration.tokenService, scope: requirement.scope, error: error)
        }
        var identity = Identity(user: nil, rights: .policy(policy))
        var presented = false
        if let header = request.headers[.authorization], let token = bearerToken(header: header), let verifier {
            presented = true
            do {
                let claims = try await verifier.verify(token)
                let subject = claims.sub.flatMap { $0.isEmpty ? nil : $0 }
                identity = Identity(user: subject, rights: .token(TokenAccessSet(entries: claims.access ?? []), policy))
            } catch {
                throw Challenge.unauthorized(challenge("invalid_token"), detail: error.reason)
            }
        }
        if requirement.isSatisfied(by: identity) { return identity }
        if presented {
            throw Challenge.unauthorized(challenge("insufficient_scope"), detail: "the token does not grant \(requirement.scope ?? "access")")
        }
        throw Challenge.unauthorized(challenge(nil), detail: "authentication required")
    }

    private func deniedDetail(_ requirement: AccessRequirement, user: String) -> String {
        switch requirement {
        case .authenticated: "\(user) may not use this endpoint"
        case .catalog: "\(user) may not list the catalog"
        case .repository(let name, let actions):
            "\(user) may not \(actions.map(\.rawValue).joined(separator: "/")) \(name)"
        }
    }
}
