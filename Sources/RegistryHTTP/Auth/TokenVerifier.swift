import Foundation
import JWTKit
import Synchronization

/// Verifies registry tokens: the signature with one of the trusted keys (configured
/// public keys or certificates, and the built-in issuer's own key), then `iss`,
/// `aud` (must name this service), `exp` and `nbf` with a small leeway.
final class TokenVerifier: Sendable {
    struct Failure: Error, Equatable {
        var reason: String
    }

    let keys: [TokenVerificationKey]
    let issuer: String
    let service: String
    let leeway: TimeInterval
    private let collections = Mutex<[JWTKeyCollection]?>(nil)

    init(keys: [TokenVerificationKey], issuer: String, service: String, leeway: TimeInterval = 1) {
        self.keys = keys
        self.issuer = issuer
        self.service = service
        self.leeway = leeway
    }

    private func keyCollections() async -> [JWTKeyCollection] {
        if let built = collections.withLock({ $0 }) { return built }
        var built: [JWTKeyCollection] = []
        for key in keys { built.append(await key.collection()) }
        collections.withLock { $0 = built }
        return built
    }

    func verify(_ token: String, now: Date = Date()) async throws(Failure) -> TokenClaims {
        var verified: TokenClaims?
        for collection in await keyCollections() {
            if let claims = try? await collection.verify(token, as: TokenClaims.self) {
                verified = claims
                break
            }
        }
        guard let claims = verified else { throw Failure(reason: "the token signature is not valid") }
        guard claims.iss == issuer else { throw Failure(reason: "the token was not issued by \(issuer)") }
        guard claims.aud?.values.contains(service) == true else { throw Failure(reason: "the token is not meant for \(service)") }
        let seconds = now.timeIntervalSince1970
        guard let exp = claims.exp?.seconds else { throw Failure(reason: "the token has no expiry") }
        guard seconds <= exp + leeway else { throw Failure(reason: "the token has expired") }
        if let nbf = claims.nbf?.seconds, seconds < nbf - leeway { throw Failure(reason: "the token is not valid yet") }
        return claims
    }
}
