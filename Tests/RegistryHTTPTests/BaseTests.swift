import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("GET/HEAD /v2/: API version check")
struct BaseTests {
    @Test("GET /v2/ answers 200 with the API version header and a JSON body")
    func get() async throws {
        try await withRegistry { r in
            let response = try await r.get("/v2/")
            #expect(response.status == .ok)
            #expect(response.headers[Header.apiVersion] == "registry/2.0")
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(response.text == "{}")
        }
    }

    @Test("HEAD /v2/ answers 200 with the header and no body")
    func head() async throws {
        try await withRegistry { r in
            let response = try await r.head("/v2/")
            #expect(response.status == .ok)
            #expect(response.headers[Header.apiVersion] == "registry/2.0")
            #expect(response.body.readableBytes == 0)
        }
    }

    @Test("/v2 without the trailing slash is the same endpoint")
    func withoutSlash() async throws {
        try await withRegistry { r in
            let response = try await r.get("/v2")
            #expect(response.status == .ok)
            #expect(response.headers[Header.apiVersion] == "registry/2.0")
        }
    }

    @Test("errors carry the API version header too")
    func versionOnErrors() async throws {
        try await withRegistry { r in
            let response = try await r.get("/v2/nosuch/manifests/latest")
            expectError(response, .notFound, "MANIFEST_UNKNOWN")
        }
    }
}
