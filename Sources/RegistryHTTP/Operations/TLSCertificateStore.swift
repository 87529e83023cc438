import Logging
import NIOHTTP2
import NIOSSL
import RegistryCore
import Synchronization

/// The server's TLS context, built from the PEM files and replaced by `reload()`
/// (SIGHUP). Each new connection takes the context current at its accept; connections
/// already open keep the one they started with, so a reload drops nobody.
public final class TLSCertificateStore: Sendable {
    public let files: TLSFiles
    private let current: Mutex<NIOSSLContext>

    /// Loads the files; throws (and the server does not start) when they are unusable.
    public init(files: TLSFiles) throws {
        self.files = files
        current = Mutex(try Self.makeContext(files))
    }

    var context: NIOSSLContext { current.withLock { $0 } }

    /// Re-reads the files. When they are unusable (missing, not PEM, key not matching
    /// the certificate), the context in use stays and the error is thrown for the log.
    public func reload() throws {
        let context = try Self.makeContext(files)
        current.withLock { $0 = context }
    }

    static func makeContext(_ files: TLSFiles) throws -> NIOSSLContext {
        guard let certificatePath = files.certificate, let keyPath = files.key else {
            throw TLSFilesError("tls.certificate and tls.key must both be set")
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw TLSFilesError("cannot read the certificate \(certificatePath): \(error)")
        }
        guard !chain.isEmpty else { throw TLSFilesError("no PEM certificate in \(certificatePath)") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw TLSFilesError("cannot read the private key \(keyPath): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.applicationProtocols = NIOHTTP2SupportedALPNProtocols
        do {
            // BoringSSL checks here that the key belongs to the leaf certificate.
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFilesError("the key \(keyPath) does not fit the certificate \(certificatePath): \(error)")
        }
    }
}

public struct TLSFilesError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
