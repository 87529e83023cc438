import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import RegistryCore
import ServiceLifecycle

/// Everything `registry serve` runs, as services for one `ServiceGroup`: the main
/// listener (HTTPS when `tls` is set, with `background` services such as GC and the
/// audit flush inside its application), the SIGHUP handler (which reloads the TLS
/// certificate, or only logs that there is nothing to reload: SIGHUP must never kill
/// the server, `systemctl reload` sends it), the plain-HTTP debug listener for
/// `/metrics` when `metrics.listen` is set, and the service that ends lock waits when
/// the shutdown runs out of time.
///
/// The group shuts services down in reverse order: the main listener first (it stops
/// accepting and lets requests in flight finish), then its background services, then
/// the SIGHUP handler, the debug listener and the lock-wait service.
public enum RegistryServer {
    public static func services(
        registry: Registry, access: AccessControl, background: [any Service], logger: Logger, accessLog: Logger?
    ) throws -> [any Service] {
        let configuration = registry.configuration
        var services: [any Service] = [LockWaitShutdownService(registry: registry)]
        if configuration.metrics.enabled, !configuration.metrics.listen.isEmpty {
            let (host, port) = try RegistryConfiguration.hostAndPort(configuration.metrics.listen)
            services.append(debugApplication(registry: registry, host: host, port: port, logger: logger))
        }
        let (server, certificates) = try mainServer(configuration)
        services.append(CertificateReloadService(certificates: certificates, logger: logger))
        let scheme = configuration.tls.isEnabled ? "https" : "http"
        let started = ListenerService.Started()
        var main = Application(
            router: RegistryApplication.buildRouter(registry: registry, access: access, accessLog: accessLog),
            server: server,
            configuration: applicationConfiguration(configuration, logger: logger),
            onServerRunning: { channel in
                started.set()
                logger.notice("listening", metadata: ["url": "\(scheme)://\(url(channel.localAddress))"])
            },
            logger: logger
        )
        main.addServices(background)
        services.append(ListenerService(address: address(configuration.host, configuration.port), started: started, application: main))
        return services
    }

    /// The main listener's protocols: HTTP/1.1 with the connection timeouts; with `tls`,
    /// HTTPS with reloadable certificates and HTTP/2 by ALPN.
    public static func mainServer(_ configuration: RegistryConfiguration) throws -> (HTTPServerBuilder, TLSCertificateStore?) {
        guard configuration.tls.isEnabled else { return (.timedHTTP1(configuration.http), nil) }
        let certificates = try TLSCertificateStore(files: configuration.tls)
        return (.reloadableTLS(certificates, settings: configuration.http), certificates)
    }

    /// The main listener's address and connection limit.
    public static func applicationConfiguration(_ configuration: RegistryConfiguration, logger: Logger) -> ApplicationConfiguration {
        .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Stowage",
              availableConnectionsDelegate: .maximum(configuration.http.maxConnections, logger: logger))
    }

    /// `/metrics`, `/healthz` and `/readyz` on their own listener, for a private address.
    static func debugApplication(registry: Registry, host: String, port: Int, logger: Logger) -> some Service {
        let router = Router(context: RegistryRequestContext.self)
        MetricsController(registry: registry, path: registry.configuration.metrics.path).register(on: router)
        HealthController(registry: registry).register(on: router)
        let started = ListenerService.Started()
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "Stowage"),
            onServerRunning: { channel in
                started.set()
                logger.notice("metrics listening", metadata: ["url": "http://\(url(channel.localAddress))\(registry.configuration.metrics.path)"])
            },
            logger: logger
        )
        return ListenerService(address: address(host, port), started: started, application: application)
    }

    private static func url(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "?" }
        return self.address(ip, port)
    }

    /// `127.0.0.1:5000`, `[::1]:5000`.
    private static func address(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
