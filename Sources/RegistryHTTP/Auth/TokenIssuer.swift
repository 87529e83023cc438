import Foundation
import JWTKit

/// The built-in token service's signer: tokens with the registry claims, signed
/// ES256 (or RS256 with a configured RSA key).
struct TokenIssuer: Sendable {
    struct Issued: Sendable {
        var token: String
        /// What clients are told: never under 60 s (docker and containers/image treat
        /// anything shorter as 60), with `issuedAt` set back so that `issuedAt +
        /// expiresIn` is when a client must fetch a new token — a little before the
        /// real `exp`, so a token is not sent just as it runs out.
        var expiresIn: Int
        var issuedAt: Date
    }

    let key: TokenSigningKey
    let issuer: String
    let service: String
    let lifetime: Duration

    func issue(subject: String?, access: [TokenAccess], now: Date = Date()) async throws -> Issued {
        let issued = now.timeIntervalSince1970.rounded(.down)
        let lifetimeSeconds = max(1, lifetime.seconds.rounded(.up))
        let expires = issued + lifetimeSeconds
        let claims = TokenClaims(
            iss: issuer, sub: subject ?? "", aud: Audience([service]),
            exp: NumericDate(expires), nbf: NumericDate(issued), iat: NumericDate(issued),
            jti: UUID().uuidString, access: access)
        let token = try await key.collection().sign(claims)
        let margin = min(5, lifetimeSeconds / 4)
        let expiresIn = max(60, Int(lifetimeSeconds))
        return Issued(token: token, expiresIn: expiresIn,
                      issuedAt: Date(timeIntervalSince1970: expires - margin - Double(expiresIn)))
    }
}
