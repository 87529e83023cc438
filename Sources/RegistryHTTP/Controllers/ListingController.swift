import Foundation
import HTTPTypes
import Hummingbird
import OCI
import RegistryCore

/// `GET /v2/<name>/tags/list` and `GET /v2/_catalog`: lexical order, `n`/`last`
/// pagination and a `Link` header to the next page.
struct ListingController: Sendable {
    let registry: Registry

    struct TagList: Encodable {
        var name: String
        var tags: [String]
    }

    struct Catalog: Encodable {
        var repositories: [String]
    }

    func tags(_ request: Request, context: RegistryRequestContext, name: String) async throws -> Response {
        let repository = try RequestParsing.repository(name)
        let limit = try RequestParsing.pageSize(request)
        let page = try await registry.tags(repository, limit: limit, last: request.uri.queryParameters["last"].map(String.init))
        return try json(TagList(name: repository.value, tags: page.items), page: page, path: "/v2/\(repository)/tags/list", limit: limit)
    }

    func catalog(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let limit = try RequestParsing.pageSize(request)
        let page = try await registry.repositories(limit: limit, last: request.uri.queryParameters["last"].map(String.init))
        return try json(Catalog(repositories: page.items), page: page, path: "/v2/_catalog", limit: limit)
    }

    private func json(_ value: some Encodable, page: ListPage, path: String, limit: Int?) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = try encoder.encode(value)
        var headers: HTTPFields = [.contentType: "application/json", .contentLength: String(data.count)]
        if let next = page.next, let limit {
            headers[.link] = "<\(path)?last=\(next.queryEscaped)&n=\(limit)>; rel=\"next\""
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
