import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import RegistryHTTP
import RegistryCore
import Testing

/// The claims a token service puts in a registry token, written independently of the product.
struct TestClaims: JWTPayload {
    struct Access: Codable, Equatable {
        var type: String
        var name: String
        var actions: [String]
    }

    var iss: String
    var sub: String
    var aud: String
    var exp: Int
    var nbf: Int
    var iat: Int
    var access: [Access]

    init(sub: String = "alice", iss: String = "stowage", aud: String = "stowage", expiresIn: Int = 300, notBefore: Int = 0,
         access: [Access]) {
        let now = Int(Date().timeIntervalSince1970)
        self.iss = iss
        self.sub = sub
        self.aud = aud
        self.exp = now + expiresIn
        self.nbf = now + notBefore
        self.iat = now
        self.access = access
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

struct TokenResponseBody: Decodable {
    var token: String
    var access_token: String
    var expires_in: Int
    var issued_at: String
    var scope: String?
}

/// The payload of a JWT, decoded without verification, to look at what was granted.
func claims(of token: String) throws -> TestClaims {
    let part = token.split(separator: ".")[1]
    var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.count % 4 != 0 { base64 += "=" }
    return try JSONDecoder().decode(TestClaims.self, from: try #require(Data(base64Encoded: base64)))
}

@Suite("Access control: auth mode token (Bearer JWTs) and the built-in /auth/token")
struct AuthTokenTests {
    static let signingKey = ES256PrivateKey()

    static func tokenMode(_ cfg: inout RegistryConfiguration) {
        cfg.auth.mode = .token
        cfg.auth.tokenSigningKey = signingKey.pemRepresentation
        cfg.auth.rules = [
            .init(subjects: ["admin"], repositories: ["**"], actions: [.pull, .push, .delete]),
            .init(subjects: ["alice"], repositories: ["team-a/**"], actions: [.pull, .push, .delete]),
            .init(subjects: ["reader"], repositories: ["team-a/**"], actions: [.pull]),
            .init(subjects: ["anonymous"], repositories: ["public/**"], actions: [.pull]),
        ]
    }

    static func sign(_ claims: TestClaims, with key: ES256PrivateKey = signingKey) async throws -> String {
        try await JWTKeyCollection().add(ecdsa: key).sign(claims)
    }

    /// A token from the built-in endpoint.
    static func token(_ r: AuthRegistry, scopes: [String], headers: HTTPFields) async throws -> String {
        let query = (["service=stowage"] + scopes.map { "scope=\($0)" }).joined(separator: "&")
        let response = try await r.client.get("/auth/token?\(query)", headers: headers)
        #expect(response.status == .ok, "\(response.text)")
        return try response.decode(TokenResponseBody.self).token
    }

    @Test("GET /v2/ without a token: 401 with a Bearer challenge naming this server's /auth/token and the service")
    func challengeOnBase() async throws {
        try await withAuthRegistry(configure: Self.tokenMode) { r in
            let response = try await r.client.get("/v2/")
            expectError(response, .unauthorized, "UNAUTHORIZED")
            let parsed = try #require(challenge(response))
            #expect(parsed.scheme == "Bearer")
            #expect(parsed.parameters == ["realm": "http://localhost/auth/token", "service": "stowage"])

            let proxied = try await r.client.get("/v2/", headers: [Self.forwardedProto: "https", Self.forwardedHost: "registry.example"])
            #expect(challenge(proxied)?.parameters["realm"] == "https://registry.example/auth/token")
        }
    }

    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let forwardedHost = HTTPField.Name("X-Forwarded-Host")!

    @Test("a configured realm is used as is; the challenge names the scope the request needs")
    func challengeScope() async throws {
        try await withAuthRegistry(configure: { Self.tokenMode(&$0); $0.auth.tokenRealm = "https://auth.example/token" }) { r in
            let pull = try #require(challenge(try await r.client.get("/v2/team-a/app/manifests/latest")))
            #expect(pull.parameters == ["realm": "https://auth.example/token", "service": "stowage", "scope": "repository:team-a/app:pull"])
            let push = try #require(challenge(try await r.client.send(.post, "/v2/team-a/app/blobs/uploads/")))
            #expect(push.parameters["scope"] == "repository:team-a/app:pull,push")
            let delete = try #require(challenge(try await r.client.send(.delete, "/v2/team-a/app/manifests/latest")))
            #expect(delete.parameters["scope"] == "repository:team-a/app:delete")
            let catalog = try #require(challenge(try await r.client.get("/v2/_catalog")))
            #expect(catalog.parameters["scope"] == "registry:catalog:*")
        }
    }

    @Test("log in at /auth/token with Basic and a scope; the token works for what it grants; the actor is its subject")
    func tokenFlow() async throws {
        try await withAuthRegistry(configure: Self.tokenMode) { r in
            let response = try await r.client.get("/auth/token?service=stowage&scope=repository:team-a/app:pull,push",
                                                  headers: basic("alice"))
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let body = try response.decode(TokenResponseBody.self)
            #expect(body.token == body.access_token)
            #expect(body.expires_in >= 60)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let issuedAt = try #require(formatter.date(from: body.issued_at))
            // issued_at + expires_in is when a client must renew: before the real expiry (300 s).
            let renewAt = issuedAt.addingTimeInterval(Double(body.expires_in))
            #expect(renewAt > Date().addingTimeInterval(250) && renewAt <= Date().addingTimeInterval(300))

            let granted = try claims(of: body.token)
            #expect(granted.sub == "alice" && granted.iss == "stowage" && granted.aud == "stowage")
            #expect(granted.access == [.init(type: "repository", name: "team-a/app", actions: ["pull", "push"])])

            #expect(try await r.client.get("/v2/", headers: bearer(body.token)).status == .ok)
            let pushed = try await r.client.push("team-a/app", headers: bearer(body.token))
            #expect(pushed.statuses == [.created, .created, .created])
            #expect(try await r.client.get("/v2/team-a/app/manifests/latest", headers: bearer(body.token)).status == .ok)
            #expect(try r.query("SELECT DISTINCT actor FROM audit_events WHERE action <> 'manifest.pull'") == [["alice"]])
        }
    }

    @Test("a token without the needed action: 401 with error=insufficient_scope and the scope to ask for")
    func insufficientScope() async throws {
        try await withAuthRegistry(configure: Self.tokenMode) { r in
            let pullOnly = try await Self.token(r, scopes: ["repository:team-a/app:pull"], headers: basic("alice"))
            let push = try await r.client.send(.post, "/v2/team-a/app/blobs/uploads/", headers: bearer(pullOnly))
            expectError(push, .unauthorized, "UNAUTHORIZED")
            #expect(challenge(push)?.parameters == [
                "realm": "http://localhost/auth/token", "service": "stowage",
                "scope": "repository:team-a/app:pull,push", "error": "insufficient_scope",
            ])
            let delete = try await r.client.send(.delete, "/v2/team-a/app/manifests/latest", headers: bearer(pullOnly))
            #expect(challenge(delete)?.parameters["scope"] == "repository:team-a/app:delete")
            let other = try await r.client.get("/v2/team-a/other/manifests/latest", headers: bearer(pullOnly))
            #expect(challenge(other)?.parameters["error"] == "insufficient_scope")
        }
    }

    @Test("the endpoint grants the requested scopes only as far as the policy allows")
    func grantsIntersection() async throws {
        try await withAuthRegistry(configure: Self.tokenMode) { r in
            let reader = try claims(of: try await Self.token(r, scopes: ["repository:team-a/app:pull,push,delete"], headers: basic("reader")))
            #expect(reader.sub == "reader")
            #expect(reader.access == [.init(type: "repository", name: "team-a/app", actions: ["pull"])])

            let alice = try claims(of: try await Self.token(
                r, scopes: ["repository:team-a/app:*", "repository:team-b/app:pull", "registry:catalog:*"], headers: basic("alice")))
            #expect(alice.access == [
                .init(type: "repository", name: "team-a/app", actions: ["pull", "push", "delete"]),
                .init(type: "registry", name: "catalog", actions: ["*"]),
            ])

            let anonymous = try claims(of: try await Self.token(r, scopes: ["repository:public/app:pull,push", "repository:team-a/app:pull"], headers: [:]))
            #expect(anonymous.sub == "")
            #expect(anonymous.access == [.init(type: "repository", name: "public/app", actions: ["pull"])])
        }
    }

    @Test("anonymous pull where a rule allows it, with an anonymous token or none; elsewhere 401")
    func anonymousPull() async throws {
        try await withAuthRegistry(configure: Self.tokenMode) { r in
            let admin = try await Self.token(r, scopes: ["repository:public/app:push", "repository:private/app:push"], headers: basic("admin"))
            try await r.client.push("public/app", headers: bearer(admin))
            try await r.client.push("private/app", headers: bearer(admin))

            let anonymous = try await Self.token(r, scopes: ["repository:public/app:pull"], headers: [:])
            #expect(try await r.client.get("/v2/public/app/manifests/latest", headers: bearer(anonymous)).status == .ok)
            #expect(try await r.client.get("/v2/public/app/manifests/latest").status == .ok)
            let refused = try await r.client.get("/v2/private/app/manifests/latest")
            expectError(refused, .unauthorized, "UNAUTHORIZED")
            #expect(challenge(refused)?.parameters["scope"] == "repository:private/app:pull")
            // An anonymous token is no login.
            expectError(try await r.client.get("/v2/", headers: bearer(anonymous)), .unauthorized, "UNAUTHORIZED")
        }
    }

    @Test("expired, not yet valid, foreign-signed, wrong-audience or wrong-issuer tokens: 401 invalid_token")
    func invalidTokens() async throws {
        try await withAuthRegistry(configure: Self.tokenMode) { r in
            let access = [TestClaims.Access(type: "repository", name: "team-a/app", actions: ["pull"])]
            let good = try await Self.sign(TestClaims(access: access))
            #expect(try await r.client.get("/v2/team-a/app/tags/list", headers: bearer(good)).status == .notFound, "valid: NAME_UNKNOWN, not 401")

            let cases: [(String, String)] = [
                ("expired", try await Self.sign(TestClaims(expiresIn: -30, access: access))),
                ("not yet valid", try await Self.sign(TestClaims(notBefore: 60, access: access))),
                ("another key", try await Self.sign(TestClaims(access: access), with: ES256PrivateKey())),
                ("another audience", try await Self.sign(TestClaims(aud: "elsewhere", access: access))),
                ("another issuer", try await Self.sign(TestClaims(iss: "mallory", access: access))),
                ("garbage", "not.a.jwt"),
            ]
            for (name, token) in cases {
                let response = try await r.client.get("/v2/team-a/app/tags/list", headers: bearer(token))
                expectError(response, .unauthorized, "UNAUTHORIZED")
                #expect(challenge(response)?.parameters["error"] == "invalid_token", "\(name)")
            }
        }
    }

    @Test("tokens of an external issuer verify with its configured public key or certificate")
    func externalIssuer() async throws {
        let external = ES256PrivateKey()
        try await withAuthRegistry(configure: {
            Self.tokenMode(&$0)
            $0.auth.tokenVerificationKeys = [external.publicKey.pemRepresentation]
        }) { r in
            let token = try await Self.sign(TestClaims(sub: "ci-bot", access: [.init(type: "repository", name: "ci/app", actions: ["pull", "push"])]),
                                            with: external)
            #expect(try await r.client.push("ci/app", headers: bearer(token)).statuses == [.created, .created, .created])
            #expect(try r.query("SELECT DISTINCT actor FROM audit_events") == [["ci-bot"]])
        }
    }

    @Test("bad credentials at /auth/token: 401; an unknown service: 400")
    func tokenEndpointErrors() async throws {
        try await withAuthRegistry(configure: Self.tokenMode) { r in
            let wrong = try await r.client.get("/auth/token?service=stowage&scope=repository:team-a/app:pull", headers: basic("alice", "nope"))
            expectError(wrong, .unauthorized, "UNAUTHORIZED")
            #expect(challenge(wrong)?.scheme == "Basic")
            #expect(try await r.client.get("/auth/token?service=elsewhere", headers: basic("alice")).status == .badRequest)
        }
    }

    @Test("POST /auth/token with grant_type=password (OAuth2)")
    func oauthPassword() async throws {
        try await withAuthRegistry(configure: Self.tokenMode) { r in
            let form = "grant_type=password&username=alice&password=alice-secret&service=stowage&client_id=test"
                + "&scope=repository%3Ateam-a%2Fapp%3Apull+repository%3Ateam-a%2Fb%3Apull%2Cpush"
            let response = try await r.client.send(.post, "/auth/token", headers: [.contentType: "application/x-www-form-urlencoded"],
                                                   body: Array(form.utf8))
            #expect(response.status == .ok, "\(response.text)")
            let body = try response.decode(TokenResponseBody.self)
            #expect(body.scope == "repository:team-a/app:pull repository:team-a/b:pull,push")
            #expect(try await r.client.push("team-a/b", headers: bearer(body.access_token)).statuses == [.created, .created, .created])

            let refresh = try await r.client.send(.post, "/auth/token", body: Array("grant_type=refresh_token&refresh_token=x".utf8))
            #expect(refresh.status == .badRequest)
            let wrong = try await r.client.send(.post, "/auth/token", body: Array("grant_type=password&username=alice&password=x".utf8))
            #expect(wrong.status == .unauthorized)
        }
    }

    @Test("the catalog: a token granting registry:catalog:* lists what its subject may pull; without it 401; anonymous needs a rule")
    func catalog() async throws {
        try await withAuthRegistry(configure: Self.tokenMode) { r in
            let admin = try await Self.token(r, scopes: ["repository:team-a/x:push", "repository:team-b/y:push", "repository:public/z:push"],
                                             headers: basic("admin"))
            for name in ["team-a/x", "team-b/y", "public/z"] { try await r.client.push(name, headers: bearer(admin)) }
            let alice = try await Self.token(r, scopes: ["registry:catalog:*"], headers: basic("alice"))
            let page = try await r.client.get("/v2/_catalog", headers: bearer(alice))
            #expect(try page.decode(Catalog.self).repositories == ["public/z", "team-a/x"])
            let unscoped = try await r.client.get("/v2/_catalog", headers: bearer(try await Self.token(r, scopes: [], headers: basic("alice"))))
            expectError(unscoped, .unauthorized, "UNAUTHORIZED")
            #expect(challenge(unscoped)?.parameters["error"] == "insufficient_scope")
            #expect(challenge(unscoped)?.parameters["scope"] == "registry:catalog:*")
            let anonymous = try await r.client.get("/v2/_catalog")
            #expect(challenge(anonymous)?.parameters["scope"] == "registry:catalog:*")
            // Anonymous callers are granted the scope only where a rule lets them list.
            let anonymousToken = try await Self.token(r, scopes: ["registry:catalog:*"], headers: [:])
            expectError(try await r.client.get("/v2/_catalog", headers: bearer(anonymousToken)), .unauthorized, "UNAUTHORIZED")
        }
    }

    @Test("an external issuer's token lists the catalog only with registry:catalog:* in access, filtered by what its subject may pull")
    func externalCatalog() async throws {
        let external = ES256PrivateKey()
        try await withAuthRegistry(configure: {
            Self.tokenMode(&$0)
            $0.auth.tokenVerificationKeys = [external.publicKey.pemRepresentation]
        }) { r in
            let admin = try await Self.token(r, scopes: ["repository:team-a/x:push", "repository:team-b/y:push"], headers: basic("admin"))
            for name in ["team-a/x", "team-b/y"] { try await r.client.push(name, headers: bearer(admin)) }
            let empty = try await Self.sign(TestClaims(sub: "alice", access: []), with: external)
            let refused = try await r.client.get("/v2/_catalog", headers: bearer(empty))
            expectError(refused, .unauthorized, "UNAUTHORIZED")
            #expect(challenge(refused)?.parameters["error"] == "insufficient_scope")
            let scoped = try await Self.sign(TestClaims(sub: "alice", access: [.init(type: "registry", name: "catalog", actions: ["*"])]),
                                             with: external)
            #expect(try await r.client.get("/v2/_catalog", headers: bearer(scoped)).decode(Catalog.self).repositories == ["team-a/x"])
        }
    }

    @Test("without a configured key one is generated once, kept 0600 in the data dir, and survives a restart")
    func generatedKeyPersists() async throws {
        try await withAuthRegistry(configure: { Self.tokenMode(&$0); $0.auth.tokenSigningKey = nil }) { r in
            let token = try await Self.token(r, scopes: ["repository:team-a/app:pull"], headers: basic("alice"))
            let keyFile = r.registry.configuration.dataDirectory + "/token-signing-key.pem"
            let attributes = try FileManager.default.attributesOfItem(atPath: keyFile)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            // A second server on the same data directory (a restart) accepts the token.
            let app = Application(router: RegistryApplication.buildRouter(registry: r.registry),
                                  configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let second = RegistryClient(client: client)
                let response = try await second.get("/v2/", headers: bearer(token))
                #expect(response.status == .ok)
            }
        }
    }
}
