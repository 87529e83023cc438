import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the TLS certificate and key on SIGHUP (certbot's deploy hook, or
/// `systemctl reload`). A bad pair is refused and logged; the old one stays in use.
/// Without TLS (`certificates` nil) SIGHUP is still trapped, since its default action
/// ends the process, and only logged: there is nothing to reload.
struct CertificateReloadService: Service, CustomStringConvertible {
    /// What the service group logs for it. (Without it, service-lifecycle prints the
    /// struct by reflection, everything it holds included: milliseconds at startup.)
    var description: String { "TLS certificate reload" }

    let certificates: TLSCertificateStore?
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                guard let certificates else {
                    logger.notice("SIGHUP received: nothing to reload (TLS is off; other settings need a restart)")
                    continue
                }
                do {
                    try certificates.reload()
                    logger.notice("TLS certificate reloaded", metadata: [
                        "certificate": "\(certificates.files.certificate ?? "")", "key": "\(certificates.files.key ?? "")",
                    ])
                } catch {
                    logger.error("TLS certificate reload failed; still serving the previous certificate",
                                 metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
