import HTTPTypes
import Hummingbird
import OCI
import RegistryCore

/// `GET /v2/<name>/tags/list` and `GET /v2/_catalog`: lexical order, `n`/`last`
/// pagination and a `Link` header to the next page.
struct ListingController: Sendable {
    let registry: Registry

    func tags(_ request: Request, context: RegistryRequestContext, name: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let limit = try RequestParsing.pageSize(request)
        let page = try await registry.tags(repository, limit: limit, last: request.uri.queryParameters["last"].map(String.init))
        return json(ListJSON.tagList(name: repository.value, tags: page.items), next: page.next, path: "/v2/\(repository)/tags/list", limit: limit)
    }

    /// Lists only what the caller may pull: pages of names are read and filtered
    /// until the page is full, so `n`, `last` and `Link` work as without access control.
    func catalog(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let limit = try RequestParsing.pageSize(request)
        let last = request.uri.queryParameters["last"].map(String.init)
        let identity = context.identity
        if identity.seesEveryRepository {
            let page = try await registry.repositories(limit: limit, last: last)
            return json(ListJSON.catalog(page.items), next: page.next, path: "/v2/_catalog", limit: limit)
        }
        var visible: [String] = []
        var cursor = last
        let wanted = limit.map { $0 < Int.max ? $0 + 1 : $0 }
        let batch = max(100, min(wanted ?? 1000, 1000))
        scan: while true {
            let page = try await registry.repositories(limit: batch, last: cursor)
            for name in page.items where identity.mayList(name) {
                visible.append(name)
                if let wanted, visible.count >= wanted { break scan }
            }
            guard let next = page.next else { break }
            cursor = next
        }
        var next: String?
        if let limit, visible.count > limit {
            visible.removeLast(visible.count - limit)
            next = visible.last
        }
        return json(ListJSON.catalog(NameList(visible)), next: next, path: "/v2/_catalog", limit: limit)
    }

    private func json(_ body: ByteBuffer, next: String?, path: String, limit: Int?) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .contentLength: String(body.readableBytes)]
        if let next, let limit {
            headers[.link] = "<\(path)?last=\(next.queryEscaped)&n=\(limit)>; rel=\"next\""
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
    }
}
