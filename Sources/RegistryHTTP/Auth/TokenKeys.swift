import Foundation
import JWTKit
#if canImport(Glibc)
import Glibc
#endif

/// A key that verifies registry tokens: ES256 or RS256.
enum TokenVerificationKey: Sendable {
    case ecdsa(ES256PublicKey)
    case rsa(Insecure.RSA.PublicKey)

    /// From a PEM public key or certificate, given as text or as the path of a file.
    init(pem value: String) throws {
        let text = try TokenKeys.pem(value, what: "a token verification key")
        if text.contains("CERTIFICATE") {
            if let key = try? ES256PublicKey(certificate: text) { self = .ecdsa(key); return }
            if let key = try? Insecure.RSA.PublicKey(certificatePEM: text) { self = .rsa(key); return }
        } else {
            if let key = try? ES256PublicKey(pem: text) { self = .ecdsa(key); return }
            if let key = try? Insecure.RSA.PublicKey(pem: text) { self = .rsa(key); return }
        }
        throw AuthSetupError("a token verification key is neither a P-256 nor an RSA public key or certificate in PEM")
    }

    func collection() async -> JWTKeyCollection {
        switch self {
        case .ecdsa(let key): await JWTKeyCollection().add(ecdsa: key)
        case .rsa(let key): await JWTKeyCollection().add(rsa: key, digestAlgorithm: .sha256)
        }
    }
}

/// The built-in issuer's private key: ES256, or RS256 when an RSA key is configured.
enum TokenSigningKey: Sendable {
    case ecdsa(ES256PrivateKey)
    case rsa(Insecure.RSA.PrivateKey)

    init(pem text: String) throws {
        if let key = try? ES256PrivateKey(pem: text) { self = .ecdsa(key); return }
        if let key = try? Insecure.RSA.PrivateKey(pem: text) { self = .rsa(key); return }
        throw AuthSetupError("the token signing key is neither a P-256 nor an RSA private key in PEM")
    }

    var publicKey: TokenVerificationKey {
        switch self {
        case .ecdsa(let key): .ecdsa(key.publicKey)
        case .rsa(let key): .rsa(key.publicKey)
        }
    }

    func collection() async -> JWTKeyCollection {
        switch self {
        case .ecdsa(let key): await JWTKeyCollection().add(ecdsa: key)
        case .rsa(let key): await JWTKeyCollection().add(rsa: key, digestAlgorithm: .sha256)
        }
    }
}

enum TokenKeys {
    /// PEM text as given, or the contents of the file it names.
    static func pem(_ value: String, what: String) throws -> String {
        if value.contains("-----BEGIN") { return value }
        do {
            return try String(contentsOfFile: value, encoding: .utf8)
        } catch {
            throw AuthSetupError("cannot read \(what) from \(value): \(error.localizedDescription)")
        }
    }

    /// The configured signing key, or one generated once and kept (mode 0600) in the
    /// data directory so that tokens stay valid across restarts.
    static func signingKey(configured: String?, dataDirectory: String) throws -> TokenSigningKey {
        if let configured { return try TokenSigningKey(pem: pem(configured, what: "the token signing key")) }
        let path = (dataDirectory as NSString).appendingPathComponent("token-signing-key.pem")
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) { return try TokenSigningKey(pem: existing) }
        let key = ES256PrivateKey()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            // Another process created it first: use that one.
            if errno == EEXIST, let existing = try? String(contentsOfFile: path, encoding: .utf8) {
                return try TokenSigningKey(pem: existing)
            }
            throw AuthSetupError("cannot create the token signing key \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(key.pemRepresentation.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            unlink(path)
            throw AuthSetupError("cannot write the token signing key \(path)")
        }
        return .ecdsa(key)
    }
}
