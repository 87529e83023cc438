import Hummingbird
import RegistryCore

/// `GET <metrics.path>`: the Prometheus text exposition of the registry's metrics.
/// Not behind the registry's access control: Prometheus scrapes without registry
/// credentials. With auth on, serve it on `metrics.listen` (a private address) instead.
struct MetricsController: Sendable {
    let registry: Registry
    let path: String

    func register(on router: Router<RegistryRequestContext>) {
        router.get(RouterPath(path)) { _, _ in
            let bytes = await registry.metricsPage()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
