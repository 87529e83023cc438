import Foundation
import HTTPTypes
import HummingbirdTesting
import RegistryCore
import Testing

@Suite("Access control: auth mode none and htpasswd (HTTP Basic)")
struct AuthHtpasswdTests {
    static func htpasswdMode(_ cfg: inout RegistryConfiguration) {
        cfg.auth.mode = .htpasswd
    }

    @Test("mode none: no challenge, anonymous pushes and pulls, the audit actor is anonymous")
    func noneUnaffected() async throws {
        try await withAuthRegistry(configure: { _ in }) { r in
            let base = try await r.client.get("/v2/")
            #expect(base.status == .ok)
            #expect(base.headers[.wwwAuthenticate] == nil)
            let pushed = try await r.client.push("open/app", headers: [:])
            #expect(pushed.statuses == [.created, .created, .created])
            #expect(try await r.client.get("/v2/open/app/manifests/latest").status == .ok)
            #expect(try await r.client.get("/v2/_catalog").decode(Catalog.self).repositories == ["open/app"])
            let actors = try r.query("SELECT DISTINCT actor FROM audit_events")
            #expect(actors == [["anonymous"]])
        }
    }

    static func anonymousPublic(_ cfg: inout RegistryConfiguration) {
        cfg.auth.mode = .htpasswd
        cfg.auth.rules = [
            .init(subjects: ["admin"], repositories: ["**"], actions: [.pull, .push]),
            .init(subjects: ["anonymous"], repositories: ["public/**"], actions: [.pull]),
        ]
    }

    @Test("no credentials: 401 UNAUTHORIZED with a Basic challenge, on /v2/ and on every endpoint")
    func noCredentials() async throws {
        try await withAuthRegistry(configure: Self.htpasswdMode) { r in
            for uri in ["/v2/", "/v2", "/v2/_catalog", "/v2/a/manifests/latest", "/v2/a/tags/list", "/v2/nosuch/thing"] {
                let response = try await r.client.get(uri)
                expectError(response, .unauthorized, "UNAUTHORIZED")
                #expect(response.headers[.wwwAuthenticate] == "Basic realm=\"Stowage\"", "\(uri)")
            }
            let head = try await r.client.head("/v2/a/blobs/\(unknownDigest())")
            expectHeadError(head, .unauthorized)
            #expect(head.headers[.wwwAuthenticate] == "Basic realm=\"Stowage\"")
            expectError(try await r.client.send(.post, "/v2/a/blobs/uploads/"), .unauthorized, "UNAUTHORIZED")
        }
    }

    @Test("the realm comes from the configuration")
    func realm() async throws {
        try await withAuthRegistry(configure: { $0.auth.mode = .htpasswd; $0.auth.realm = "Acme \"prod\"" }) { r in
            let response = try await r.client.get("/v2/")
            let expected = #"Basic realm="Acme \"prod\"""#
            #expect(response.headers[.wwwAuthenticate] == expected)
        }
    }

    @Test("wrong password or unknown user: 401; the right password: 200")
    func passwords() async throws {
        try await withAuthRegistry(configure: Self.htpasswdMode) { r in
            expectError(try await r.client.get("/v2/", headers: basic("alice", "wrong")), .unauthorized, "UNAUTHORIZED")
            expectError(try await r.client.get("/v2/", headers: basic("mallory", "alice-secret")), .unauthorized, "UNAUTHORIZED")
            expectError(try await r.client.get("/v2/", headers: [.authorization: "Basic !!!not-base64"]), .unauthorized, "UNAUTHORIZED")
            let ok = try await r.client.get("/v2/", headers: basic("alice"))
            #expect(ok.status == .ok)
            #expect(ok.headers[.wwwAuthenticate] == nil)
            // Cached after the first success; still right the second time, still wrong with another password.
            #expect(try await r.client.get("/v2/", headers: basic("alice")).status == .ok)
            #expect(try await r.client.get("/v2/", headers: basic("alice", "alice-secret2")).status == .unauthorized)
        }
    }

    @Test("an empty Basic user is anonymous, as clients without credentials send it")
    func emptyUserIsAnonymous() async throws {
        try await withAuthRegistry(configure: Self.anonymousPublic) { r in
            // (A `try` outside #expect: closures whose only `try` is inside a macro are inferred non-throwing.)
            let pushed = try await r.client.push("public/app", headers: basic("admin"))
            #expect(pushed.statuses == [.created, .created, .created])
            // Not a failed login either: no rate limiting of anonymous callers.
            for _ in 0..<15 {
                let response = try await r.client.get("/v2/public/app/manifests/latest", headers: basic("", ""))
                #expect(response.status == .ok)
            }
        }
    }

    @Test("entries that are not bcrypt are refused; $2y$, $2b$ and $2a$ work")
    func onlyBcrypt() async throws {
        let htpasswd = """
            # comment
            md5:$apr1$abcdefgh$0123456789abcdefghijkl
            sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=
            plain:password
            y:$2y$\(bcrypt("y-pass").dropFirst(4))
            b:\(bcrypt("b-pass"))
            a:$2a$\(bcrypt("a-pass").dropFirst(4))
            """
        try await withAuthRegistry(htpasswd: htpasswd, configure: Self.htpasswdMode) { r in
            for (user, password) in [("md5", "x"), ("sha", "password"), ("plain", "password")] {
                let response = try await r.client.get("/v2/", headers: basic(user, password))
                #expect(response.status == .unauthorized, "\(user)")
            }
            for user in ["y", "b", "a"] {
                let response = try await r.client.get("/v2/", headers: basic(user, "\(user)-pass"))
                #expect(response.status == .ok, "\(user)")
            }
        }
    }

    @Test("no rules: every user may push, pull and delete; the audit actor is the user")
    func usersMayDoEverything() async throws {
        try await withAuthRegistry(configure: Self.htpasswdMode) { r in
            let pushed = try await r.client.push("team/app", headers: basic("alice"))
            #expect(pushed.statuses == [.created, .created, .created])
            #expect(try await r.client.get("/v2/team/app/manifests/latest", headers: basic("bob")).status == .ok)
            #expect(try await r.client.send(.delete, "/v2/team/app/manifests/\(pushed.image.digest)", headers: basic("bob")).status == .accepted)
            let rows = try r.query("SELECT action, actor FROM audit_events WHERE action <> 'manifest.pull' ORDER BY id")
            #expect(rows.contains(["manifest.put", "alice"]))
            #expect(rows.contains(["blob.upload", "alice"]), "\(rows)")
            #expect(rows.contains(["manifest.delete", "bob"]), "\(rows)")
            #expect(!rows.contains { $0[1] == "anonymous" }, "\(rows)")
        }
    }

    @Test("users added to the htpasswd file can log in without a restart")
    func reload() async throws {
        try await withAuthRegistry(configure: Self.htpasswdMode) { r in
            #expect(try await r.client.get("/v2/", headers: basic("carol", "carol-pass")).status == .unauthorized)
            let file = r.directory + "/htpasswd"
            let grown = TestUsers.htpasswd() + "carol:\(bcrypt("carol-pass"))\n"
            try grown.write(toFile: file, atomically: true, encoding: .utf8)
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await r.client.get("/v2/", headers: basic("carol", "carol-pass")).status == .ok)
        }
    }
}
