import HTTPTypes
import HummingbirdTesting
import Testing
import TestSupport

/// One request of a table.
struct Probe: Sendable, CustomStringConvertible {
    var method: HTTPRequest.Method
    var path: String
    var headers: HTTPFields = [:]
    var body: [UInt8]? = nil

    var description: String { "\(method) \(path) \(headers)" }
}

@Suite("Errors: OCI error bodies, and no 5xx for bad input")
struct ErrorTests {
    /// Requests that must fail with exactly this status and code, on a registry that
    /// holds repository `alpha` with tag `latest` and a session (`UPLOAD` in the path).
    static let failures: [(Probe, HTTPResponse.Status, String)] = [
        (Probe(method: .get, path: "/v2/alpha/manifests/nosuch"), .notFound, "MANIFEST_UNKNOWN"),
        (Probe(method: .get, path: "/v2/alpha/manifests/\(unknownDigest())"), .notFound, "MANIFEST_UNKNOWN"),
        (Probe(method: .get, path: "/v2/alpha/blobs/\(unknownDigest())"), .notFound, "BLOB_UNKNOWN"),
        (Probe(method: .get, path: "/v2/alpha/blobs/sha256:1234"), .badRequest, "DIGEST_INVALID"),
        (Probe(method: .get, path: "/v2/alpha/manifests/sha256:1234"), .badRequest, "DIGEST_INVALID"),
        (Probe(method: .get, path: "/v2/alpha/manifests/-x"), .notFound, "MANIFEST_UNKNOWN"),
        (Probe(method: .delete, path: "/v2/alpha/manifests/-x"), .notFound, "MANIFEST_UNKNOWN"),
        (Probe(method: .put, path: "/v2/alpha/manifests/-x", headers: [.contentType: Media.ociManifest], body: Array("{}".utf8)),
         .badRequest, "TAG_INVALID"),
        (Probe(method: .get, path: "/v2/nosuch/tags/list"), .notFound, "NAME_UNKNOWN"),
        (Probe(method: .get, path: "/v2/Alpha/tags/list"), .badRequest, "NAME_INVALID"),
        (Probe(method: .get, path: "/v2/alpha/tags/list?n=-1"), .badRequest, "PAGINATION_NUMBER_INVALID"),
        (Probe(method: .get, path: "/v2/_catalog?n=-5"), .badRequest, "PAGINATION_NUMBER_INVALID"),
        (Probe(method: .get, path: "/v2/alpha/blobs/uploads/\(UploadIDs.unknown)"), .notFound, "BLOB_UPLOAD_UNKNOWN"),
        (Probe(method: .put, path: "/v2/alpha/blobs/uploads/UPLOAD"), .badRequest, "DIGEST_INVALID"),
        (Probe(method: .put, path: "/v2/alpha/blobs/uploads/UPLOAD?digest=sha256:zz"), .badRequest, "DIGEST_INVALID"),
        (Probe(method: .patch, path: "/v2/alpha/blobs/uploads/UPLOAD", headers: [.contentRange: "5-9"], body: [1, 2, 3, 4, 5]),
         .rangeNotSatisfiable, "RANGE_INVALID"),
        (Probe(method: .put, path: "/v2/alpha/manifests/v1", headers: [.contentType: Media.ociManifest], body: Array("nope".utf8)),
         .badRequest, "MANIFEST_INVALID"),
        (Probe(method: .put, path: "/v2/alpha/manifests/v1", headers: [.contentType: "text/plain"], body: Array("{\"schemaVersion\":2}".utf8)),
         .badRequest, "MANIFEST_INVALID"),
        (Probe(method: .post, path: "/v2/alpha/manifests/latest"), .methodNotAllowed, "UNSUPPORTED"),
        (Probe(method: .put, path: "/v2/alpha/tags/list"), .methodNotAllowed, "UNSUPPORTED"),
        (Probe(method: .delete, path: "/v2/_catalog"), .methodNotAllowed, "UNSUPPORTED"),
        (Probe(method: .get, path: "/v2/alpha/blobs/uploads/"), .methodNotAllowed, "UNSUPPORTED"),
        (Probe(method: .get, path: "/v2/alpha"), .notFound, "NAME_INVALID"),
        (Probe(method: .get, path: "/elsewhere"), .notFound, "NOT_FOUND"),
    ]

    @Test("each failure has the spec's status and code in a JSON error body", arguments: failures.indices)
    func failure(_ index: Int) async throws {
        let (probe, status, code) = Self.failures[index]
        try await withRegistry { r in
            try await r.pushImage("alpha", tag: "latest")
            let upload = try await r.startUpload("alpha")
            let path = probe.path.replacingOccurrences(of: "/v2/alpha/blobs/uploads/UPLOAD", with: upload)
            let response = try await r.send(probe.method, path, headers: probe.headers, body: probe.body)
            expectError(response, status, code)
            #expect(response.headers[.contentLength] == String(response.bytes.count), "\(probe)")
        }
    }

    @Test("HEAD errors have the status and no body")
    func headErrors() async throws {
        try await withRegistry { r in
            try await r.pushImage("alpha")
            expectHeadError(try await r.head("/v2/alpha/manifests/nosuch"), .notFound)
            expectHeadError(try await r.head("/v2/alpha/manifests/-x"), .notFound)
            expectHeadError(try await r.head("/v2/alpha/blobs/\(unknownDigest())"), .notFound)
            expectHeadError(try await r.head("/v2/Alpha/manifests/latest"), .badRequest)
            expectHeadError(try await r.head("/v2/alpha/blobs/sha256:00"), .badRequest)
        }
    }

    /// Malformed requests of every kind. None may produce a 5xx.
    static let fuzz: [Probe] = {
        let d = sha256([0])
        var probes: [Probe] = []
        let paths = [
            "/v2/%00/tags/list", "/v2/a%00/manifests/latest", "/v2/alpha/manifests/%00", "/v2/alpha/manifests/sha256:%00",
            "/v2/alpha/blobs/%00", "/v2/alpha/blobs/sha256%3A\(d.dropFirst(7))", "/v2/alpha/blobs/uploads/%00",
            "/v2/alpha/referrers/%00", "/v2/alpha/manifests/%", "/v2/alpha/manifests/%zz", "/v2/%/tags/list",
            "/v2//", "/v2///", "/v2//tags/list", "/v2/tags/list", "/v2/blobs/uploads/", "/v2/manifests/x",
            "/v2/alpha/manifests/", "/v2/alpha/blobs/", "/v2/alpha/blobs/uploads//", "/v2/alpha/referrers/",
            "/v2/_catalog/x", "/v2/_catalog?n=99999999999999999999999", "/v2/_catalog?n=9223372036854775807&last=%00",
            "/v2/_catalog?n=0", "/v2/_catalog?last=", "/v2/_catalog?n=&last=&n=3", "/v2/alpha/tags/list?n=0",
            "/v2/alpha/tags/list?n=9223372036854775807", "/v2/alpha/tags/list?n=-9223372036854775808",
            "/v2/alpha/tags/list?last=%FF%FE", "/v2/alpha/referrers/\(d)?artifactType=%00",
            "/v2/alpha/referrers/\(d)?artifactType=", "/v2/\(String(repeating: "a/", count: 300))tags/list",
            "/v2/alpha/manifests/\(String(repeating: "x", count: 5000))", "/v2/alpha/blobs/sha256:\(String(repeating: "0", count: 5000))",
            "/v2/alpha/manifests/sha999:abc", "/v2/alpha/manifests/SHA256:\(d.dropFirst(7))", "/v2/alpha/manifests/:",
            "/v2/alpha/manifests/sha256:", "/v2/alpha/blobs/sha512:\(d.dropFirst(7))", "/v2/..", "/v2/.", "/v2/../v2/",
            "/v2/alpha/blobs/uploads/?digest=", "/v2/alpha/blobs/uploads/?mount=&from=", "/v2/alpha/blobs/uploads/?mount=\(d)&from=",
            "/v2/alpha/blobs/uploads/?mount=\(d)&from=..%2F..", "/v2/alpha/blobs/uploads/?mount=garbage&from=alpha",
            "/v2/alpha/blobs/uploads/?digest=\(d)&mount=\(d)",
        ]
        for path in paths {
            for method: HTTPRequest.Method in [.get, .head, .put, .patch, .post, .delete] {
                probes.append(Probe(method: method, path: path))
            }
        }
        for path in ["/v2/", "/v2/alpha/tags/list", "/v2/alpha/manifests/latest", "/v2/alpha/blobs/uploads/", "/elsewhere"] {
            probes.append(Probe(method: .options, path: path))
            probes.append(Probe(method: HTTPRequest.Method("PROPFIND")!, path: path))
        }
        let upload = "/v2/alpha/blobs/uploads/UPLOAD"
        let fresh = "/v2/alpha/blobs/uploads/FRESH"
        let ranges = ["", "-", "abc", "0-", "-5", "5-1", "0-0-0", "bytes", "bytes 0-2/*", "bytes=0-2", "0-2/3", "0-2, 3-4",
                      "-1-2", "0-9223372036854775807", "9223372036854775806-9223372036854775807", "99999999999999999999-1",
                      "0-\u{00e9}", "0x0-0x2"]
        for range in ranges {
            // On a session that already holds bytes, and on an empty one.
            for session in [upload, fresh] {
                probes.append(Probe(method: .patch, path: session, headers: [.contentRange: range], body: [1, 2, 3]))
                probes.append(Probe(method: .put, path: session + "?digest=\(sha256([1, 2, 3]))", headers: [.contentRange: range], body: [1, 2, 3]))
            }
        }
        for digest in ["", "sha256", "sha256:", ":", "sha256:\(String(repeating: "g", count: 64))", "sha256:%00", "SHA256:abc",
                       "sha256:\(d.dropFirst(7).uppercased())", "sha512:abc", "md5:abc", "%zz", String(repeating: "a", count: 10_000)] {
            probes.append(Probe(method: .put, path: upload + "?digest=\(digest)", body: [1]))
            probes.append(Probe(method: .post, path: "/v2/alpha/blobs/uploads/?digest=\(digest)", body: [1]))
            probes.append(Probe(method: .get, path: "/v2/alpha/blobs/\(digest)"))
            probes.append(Probe(method: .delete, path: "/v2/alpha/manifests/\(digest)"))
        }
        for header in ["bytes=abc", "bytes=", "bytes=-", "bytes=--1", "bytes=0-1,2-3", "bytes=9223372036854775807-",
                       "bytes=-9223372036854775807", "bytes=0-99999999999999999999", "items=0-1", "bytes=2-1", "\u{00e9}"] {
            probes.append(Probe(method: .get, path: "/v2/alpha/blobs/BLOB", headers: [.range: header]))
        }
        for contentType in ["", "application/vnd.docker.distribution.manifest.v1+json", "application/json; charset=\u{00e9}",
                            "text/html", ";;;", Media.ociIndex] {
            probes.append(Probe(method: .put, path: "/v2/alpha/manifests/x", headers: [.contentType: contentType],
                                body: Array("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"\(d)\",\"size\":1}}".utf8)))
        }
        let bodies = ["null", "{}", "{\"schemaVersion\":2}", "{\"schemaVersion\":2,\"manifests\":null}",
                      "{\"schemaVersion\":2,\"manifests\":[{}]}", "{\"schemaVersion\":1e999}",
                      "{\"schemaVersion\":2,\"config\":{\"size\":1e30}}", "{\"schemaVersion\":2,\"layers\":\"x\"}",
                      "{\"schemaVersion\":2,\"mediaType\":\"\(Media.ociManifest)\",\"config\":{\"mediaType\":\"a/b\",\"digest\":\"\(d)\",\"size\":18446744073709551616}}",
                      "\u{0000}", String(repeating: "[", count: 100_000)]
        for body in bodies {
            probes.append(Probe(method: .put, path: "/v2/alpha/manifests/x", headers: [.contentType: Media.ociManifest], body: Array(body.utf8)))
            probes.append(Probe(method: .put, path: "/v2/alpha/manifests/\(sha256(Array(body.utf8)))", body: Array(body.utf8)))
        }
        return probes
    }()

    @Test("a table of malformed requests never gets a 5xx, and every error is an OCI error body")
    func fuzzTable() async throws {
        try await withRegistry { r in
            try await r.pushImage("alpha", tag: "latest")
            let blob = try await r.pushBlob("alpha", randomBytes(100))
            var upload = try await r.startUpload("alpha")
            for probe in Self.fuzz {
                let path = probe.path
                    .replacingOccurrences(of: "/v2/alpha/blobs/uploads/UPLOAD", with: upload)
                    .replacingOccurrences(of: "/v2/alpha/blobs/uploads/FRESH", with: try await r.startUpload("alpha"))
                    .replacingOccurrences(of: "/v2/alpha/blobs/BLOB", with: "/v2/alpha/blobs/\(blob)")
                let response = try await r.send(probe.method, path, headers: probe.headers, body: probe.body)
                #expect(response.status.code < 500, "\(probe): \(response.status) \(response.text)")
                if response.status.code >= 400, probe.method != .head {
                    #expect(response.errorCodes?.isEmpty == false, "\(probe): \(response.text)")
                }
                #expect(response.headers[Header.apiVersion] == "registry/2.0", "\(probe)")
                if path.contains(upload), try await r.get(upload).status != .noContent {
                    upload = try await r.startUpload("alpha")
                }
            }
            // The registry still serves what it held.
            #expect(try await r.get("/v2/alpha/manifests/latest").status == .ok)
            #expect(try await r.get("/v2/alpha/blobs/\(blob)").status == .ok)
        }
    }
}

enum UploadIDs {
    static let unknown = "5f0c6a8e-2b1d-4c3e-9f7a-0d1e2f3a4b5c"
}
