import Foundation
import JWTKit

/// One entry of a registry token's `access` claim: `{"type","name","actions"}`.
struct TokenAccess: Codable, Sendable, Equatable {
    var type: String
    var name: String
    var actions: [String]
}

/// The `access` claim as a lookup: which actions on which resource.
struct TokenAccessSet: Sendable {
    let entries: [TokenAccess]

    func allows(_ action: String, type: String, name: String) -> Bool {
        entries.contains { entry in
            entry.type == type && entry.name == name && (entry.actions.contains(action) || entry.actions.contains("*"))
        }
    }
}

/// The claims of a token per the Docker registry token specification. Times are
/// NumericDate seconds; they are checked by `TokenVerifier` with a leeway, not here.
struct TokenClaims: JWTPayload, Equatable {
    var iss: String?
    var sub: String?
    var aud: Audience?
    var exp: NumericDate?
    var nbf: NumericDate?
    var iat: NumericDate?
    var jti: String?
    var access: [TokenAccess]?

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// `aud` is a string or an array of strings.
struct Audience: Codable, Sendable, Equatable {
    var values: [String]

    init(_ values: [String]) { self.values = values }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let single = try? container.decode(String.self) {
            values = [single]
        } else {
            values = try container.decode([String].self)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if values.count == 1 { try container.encode(values[0]) } else { try container.encode(values) }
    }
}

/// Seconds since the epoch: whole seconds are written as integers (as other token
/// services and verifiers expect); fractions are accepted when read.
struct NumericDate: Codable, Sendable, Equatable {
    var seconds: Double

    init(_ seconds: Double) { self.seconds = seconds }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let whole = try? container.decode(Int64.self) {
            seconds = Double(whole)
        } else {
            seconds = try container.decode(Double.self)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let whole = Int64(exactly: seconds) { try container.encode(whole) } else { try container.encode(seconds) }
    }
}
