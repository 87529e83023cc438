import HTTPTypes
import HummingbirdTesting
import Testing
import TestSupport

/// The URI inside `Link: <uri>; rel="next"`, or nil when there is no such header.
func nextLink(_ response: TestResponse) -> String? {
    guard let link = response.headers[Header.link],
          let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">"), open < close
    else { return nil }
    return String(link[link.index(after: open)..<close])
}

@Suite("GET /v2/<name>/tags/list")
struct TagListTests {
    /// Scrambled on purpose; byte-wise ("lexical") order is what a client gets back.
    static let tags = ["v2", "latest", "1.0", "B", "a", "v10", "a-b", "a.b", "a_b", "Z9"]

    @Test("tags come back in lexical order with the repository name")
    func order() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil)
            for tag in Self.tags {
                #expect(try await r.putManifest("alpha", tag, image.manifest).status == .created)
            }
            let response = try await r.get("/v2/alpha/tags/list")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(response.headers[Header.link] == nil)
            let list = try response.decode(TagList.self)
            #expect(list.name == "alpha")
            #expect(list.tags == Self.tags.sorted())
        }
    }

    @Test("n and last paginate with a Link to the next page; the last page has none")
    func pagination() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil)
            for tag in Self.tags {
                _ = try await r.putManifest("alpha", tag, image.manifest)
            }
            let sorted = Self.tags.sorted()
            let first = try await r.get("/v2/alpha/tags/list?n=3")
            #expect(first.status == .ok)
            #expect(try first.decode(TagList.self).tags == Array(sorted[0..<3]))
            #expect(first.headers[Header.link] == "</v2/alpha/tags/list?last=\(sorted[2])&n=3>; rel=\"next\"")

            var collected: [String] = []
            var uri: String? = "/v2/alpha/tags/list?n=3"
            var pages = 0
            while let next = uri, pages < 10 {
                let page = try await r.get(next)
                #expect(page.status == .ok)
                let tags = try page.decode(TagList.self).tags
                #expect(tags.count <= 3)
                collected += tags
                uri = nextLink(page)
                pages += 1
            }
            #expect(pages == 4)
            #expect(collected == sorted)
        }
    }

    @Test("a page that ends exactly at the last tag has no Link")
    func exactPage() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil)
            for tag in ["a", "b", "c", "d"] {
                _ = try await r.putManifest("alpha", tag, image.manifest)
            }
            let page = try await r.get("/v2/alpha/tags/list?n=2&last=b")
            #expect(try page.decode(TagList.self).tags == ["c", "d"])
            #expect(page.headers[Header.link] == nil)
            let all = try await r.get("/v2/alpha/tags/list?n=4")
            #expect(try all.decode(TagList.self).tags == ["a", "b", "c", "d"])
            #expect(all.headers[Header.link] == nil)
        }
    }

    @Test("last without n lists every tag after it")
    func lastOnly() async throws {
        try await withRegistry { r in
            let image = try await r.pushImage("alpha", tag: nil)
            for tag in ["a", "b", "c", "d"] {
                _ = try await r.putManifest("alpha", tag, image.manifest)
            }
            let page = try await r.get("/v2/alpha/tags/list?last=b")
            #expect(try page.decode(TagList.self).tags == ["c", "d"])
            #expect(page.headers[Header.link] == nil)
            let beyond = try await r.get("/v2/alpha/tags/list?last=zzz")
            #expect(try beyond.decode(TagList.self).tags == [])
        }
    }

    @Test("a repository with blobs but no tags lists an empty array")
    func noTags() async throws {
        try await withRegistry { r in
            try await r.pushBlob("alpha", randomBytes(10))
            let response = try await r.get("/v2/alpha/tags/list")
            #expect(response.status == .ok)
            #expect(try response.decode(TagList.self) == TagList(name: "alpha", tags: []))
        }
    }

    @Test("an unknown repository is 404 NAME_UNKNOWN")
    func unknownRepository() async throws {
        try await withRegistry { r in
            expectError(try await r.get("/v2/nosuch/tags/list"), .notFound, "NAME_UNKNOWN")
        }
    }

    @Test("a negative or non-numeric n is 400", arguments: ["-1", "abc", "1.5", ""])
    func badN(_ n: String) async throws {
        try await withRegistry { r in
            try await r.pushImage("alpha")
            expectError(try await r.get("/v2/alpha/tags/list?n=\(n)"), .badRequest, "PAGINATION_NUMBER_INVALID")
        }
    }

    @Test("a huge n is not an error: every tag fits on one page", arguments: ["9223372036854775807", "1000000"])
    func hugeN(_ n: String) async throws {
        try await withRegistry { r in
            try await r.pushImage("alpha", tag: "v1")
            let response = try await r.get("/v2/alpha/tags/list?n=\(n)")
            #expect(response.status == .ok)
            #expect(try response.decode(TagList.self).tags == ["v1"])
            #expect(response.headers[Header.link] == nil)
        }
    }
}
