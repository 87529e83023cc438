import HTTPTypes
import HummingbirdTesting
import Testing
import TestSupport

struct Catalog: Decodable {
    var repositories: [String]
}

@Suite("GET /v2/_catalog")
struct CatalogTests {
    static let names = ["zeta", "alpha/b", "alpha", "alpha-b", "library/ubuntu", "a/manifests/b", "m0"]

    @Test("an empty registry lists no repositories")
    func empty() async throws {
        try await withRegistry { r in
            let response = try await r.get("/v2/_catalog")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(try response.decode(Catalog.self).repositories == [])
        }
    }

    @Test("repositories come back in lexical order")
    func order() async throws {
        try await withRegistry { r in
            for name in Self.names {
                try await r.pushBlob(name, randomBytes(8))
            }
            let response = try await r.get("/v2/_catalog")
            #expect(response.status == .ok)
            #expect(try response.decode(Catalog.self).repositories == Self.names.sorted())
            #expect(response.headers[Header.link] == nil)
        }
    }

    @Test("n and last paginate with a Link to the next page; the last page has none")
    func pagination() async throws {
        try await withRegistry { r in
            for name in Self.names {
                try await r.pushBlob(name, randomBytes(8))
            }
            let sorted = Self.names.sorted()
            let first = try await r.get("/v2/_catalog?n=2")
            #expect(try first.decode(Catalog.self).repositories == Array(sorted[0..<2]))
            #expect(first.headers[Header.link] == "</v2/_catalog?last=\(sorted[1])&n=2>; rel=\"next\"")

            var collected: [String] = []
            var uri: String? = "/v2/_catalog?n=2"
            var pages = 0
            while let next = uri, pages < 10 {
                let page = try await r.get(next)
                #expect(page.status == .ok)
                collected += try page.decode(Catalog.self).repositories
                uri = nextLink(page)
                pages += 1
            }
            #expect(pages == 4)
            #expect(collected == sorted)
        }
    }

    @Test("a page ending exactly at the last repository has no Link")
    func exactPage() async throws {
        try await withRegistry { r in
            for name in ["a", "b", "c"] {
                try await r.pushBlob(name, randomBytes(8))
            }
            let page = try await r.get("/v2/_catalog?n=3")
            #expect(try page.decode(Catalog.self).repositories == ["a", "b", "c"])
            #expect(page.headers[Header.link] == nil)
            let rest = try await r.get("/v2/_catalog?last=a")
            #expect(try rest.decode(Catalog.self).repositories == ["b", "c"])
        }
    }

    @Test("a negative or non-numeric n is 400", arguments: ["-1", "x", "99999999999999999999"])
    func badN(_ n: String) async throws {
        try await withRegistry { r in
            expectError(try await r.get("/v2/_catalog?n=\(n)"), .badRequest, "PAGINATION_NUMBER_INVALID")
        }
    }

    @Test("the largest n is accepted")
    func hugeN() async throws {
        try await withRegistry { r in
            try await r.pushBlob("alpha", randomBytes(8))
            let response = try await r.get("/v2/_catalog?n=9223372036854775807")
            #expect(response.status == .ok)
            #expect(try response.decode(Catalog.self).repositories == ["alpha"])
        }
    }

    @Test("a name that only failed to push is not listed")
    func failedPushCreatesNothing() async throws {
        try await withRegistry { r in
            _ = try await r.putManifest("Invalid", "v1", Array("{}".utf8))
            _ = try await r.get("/v2/ghost/manifests/latest")
            _ = try await r.get("/v2/ghost/tags/list")
            let missing = Desc(mediaType: Media.ociConfig, digest: unknownDigest(), size: 2)
            let manifest = imageManifest(config: missing, layers: [])
            expectError(try await r.putManifest("ghost", "v1", manifest), .badRequest, "MANIFEST_BLOB_UNKNOWN")
            #expect(try await r.get("/v2/_catalog").decode(Catalog.self).repositories == [])
        }
    }
}
