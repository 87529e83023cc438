import Foundation
import HTTPTypes
import HummingbirdTesting
import RegistryCore
import Testing

@Suite("Access control: rules, groups, anonymous access, the catalog and mounts")
struct AuthPolicyTests {
    /// admin: everything; alice: team-a; group devs (bob): push to team-b and pull
    /// everywhere; reader: pull only; anonymous: pull of public/**.
    static func rules(_ cfg: inout RegistryConfiguration) {
        cfg.auth.mode = .htpasswd
        cfg.auth.groups = ["devs": ["bob"]]
        cfg.auth.rules = [
            .init(subjects: ["admin"], repositories: ["**"], actions: [.pull, .push, .delete, .catalog]),
            .init(subjects: ["alice"], repositories: ["team-a/**"], actions: [.pull, .push, .delete]),
            .init(subjects: ["group:devs"], repositories: ["team-b/*"], actions: [.pull, .push]),
            .init(subjects: ["group:devs"], repositories: ["**"], actions: [.pull]),
            .init(subjects: ["reader"], repositories: ["team-a/**", "team-b/*"], actions: [.pull]),
            .init(subjects: ["anonymous"], repositories: ["public/**"], actions: [.pull]),
        ]
    }

    @Test("a pull-only user pulls, but pushing and deleting are 403 DENIED")
    func pullOnly() async throws {
        try await withAuthRegistry(configure: Self.rules) { r in
            let image = try await r.client.push("team-a/app", headers: basic("alice")).image
            #expect(try await r.client.get("/v2/team-a/app/manifests/latest", headers: basic("reader")).status == .ok)
            #expect(try await r.client.get("/v2/team-a/app/blobs/\(image.layers[0].digest)", headers: basic("reader")).status == .ok)
            #expect(try await r.client.get("/v2/team-a/app/tags/list", headers: basic("reader")).status == .ok)

            let pushed = try await r.client.push("team-a/app", tag: "evil", headers: basic("reader"))
            #expect(pushed.statuses == [.forbidden, .forbidden, .forbidden])
            expectError(try await r.client.send(.post, "/v2/team-a/app/blobs/uploads/", headers: basic("reader")), .forbidden, "DENIED")
            expectError(try await r.client.send(.delete, "/v2/team-a/app/manifests/\(image.digest)", headers: basic("reader")),
                        .forbidden, "DENIED")
            expectError(try await r.client.send(.delete, "/v2/team-a/app/blobs/\(image.layers[0].digest)", headers: basic("reader")),
                        .forbidden, "DENIED")
            // 403 carries no challenge: logging in again would not help.
            #expect(try await r.client.send(.delete, "/v2/team-a/app/manifests/latest", headers: basic("reader"))
                .headers[.wwwAuthenticate] == nil)
            #expect(try await r.client.get("/v2/team-a/app/manifests/latest", headers: basic("reader")).status == .ok)
        }
    }

    @Test("patterns: * is one segment, ** any depth; groups get their rules")
    func patternsAndGroups() async throws {
        try await withAuthRegistry(configure: Self.rules) { r in
            #expect(try await r.client.push("team-b/app", headers: basic("bob")).statuses == [.created, .created, .created])
            #expect(try await r.client.push("team-b/deep/app", headers: basic("bob")).statuses == [.forbidden, .forbidden, .forbidden])
            #expect(try await r.client.push("team-a/deep/er/app", headers: basic("alice")).statuses == [.created, .created, .created])
            #expect(try await r.client.push("team-b/app", tag: "x", headers: basic("alice")).statuses == [.forbidden, .forbidden, .forbidden])
            // devs pull everywhere, but may not delete.
            #expect(try await r.client.get("/v2/team-a/deep/er/app/manifests/latest", headers: basic("bob")).status == .ok)
            expectError(try await r.client.send(.delete, "/v2/team-b/app/manifests/latest", headers: basic("bob")), .forbidden, "DENIED")
        }
    }

    @Test("anonymous pull where a rule allows it; elsewhere 401 with the challenge")
    func anonymousPull() async throws {
        try await withAuthRegistry(configure: Self.rules) { r in
            let image = try await r.client.push("public/tools/app", headers: basic("admin")).image
            try await r.client.push("private/app", headers: basic("admin"))
            #expect(try await r.client.get("/v2/public/tools/app/manifests/latest").status == .ok)
            #expect(try await r.client.head("/v2/public/tools/app/blobs/\(image.layers[0].digest)").status == .ok)
            #expect(try await r.client.get("/v2/public/tools/app/tags/list").status == .ok)

            let refused = try await r.client.get("/v2/private/app/manifests/latest")
            expectError(refused, .unauthorized, "UNAUTHORIZED")
            #expect(challenge(refused)?.scheme == "Basic")
            // The same 401 whether the repository exists or not.
            expectError(try await r.client.get("/v2/private/nosuch/manifests/latest"), .unauthorized, "UNAUTHORIZED")
            // Anonymous pull does not include push, nor the base endpoint.
            #expect(try await r.client.push("public/tools/app", tag: "x", headers: [:]).statuses == [.unauthorized, .unauthorized, .unauthorized])
            expectError(try await r.client.get("/v2/"), .unauthorized, "UNAUTHORIZED")
            // A logged-in user keeps what anonymous callers may do.
            #expect(try await r.client.get("/v2/public/tools/app/manifests/latest", headers: basic("alice")).status == .ok)
        }
    }

    @Test("a blob is readable only through a repository the caller may pull")
    func blobVisibility() async throws {
        try await withAuthRegistry(configure: Self.rules) { r in
            let image = try await r.client.push("team-b/app", headers: basic("bob")).image
            let digest = image.layers[0].digest
            // alice may not pull team-b: the blob is denied there, and unknown through her own repository.
            expectError(try await r.client.get("/v2/team-b/app/blobs/\(digest)", headers: basic("alice")), .forbidden, "DENIED")
            expectError(try await r.client.get("/v2/team-a/app/blobs/\(digest)", headers: basic("alice")), .notFound, "BLOB_UNKNOWN")
        }
    }

    @Test("mount needs pull on the source; without it the client gets a plain upload session")
    func mount() async throws {
        try await withAuthRegistry(configure: Self.rules) { r in
            let image = try await r.client.push("team-b/app", headers: basic("bob")).image
            let digest = image.layers[0].digest
            let refused = try await r.client.send(.post, "/v2/team-a/app/blobs/uploads/?mount=\(digest)&from=team-b/app",
                                                  headers: basic("alice"))
            #expect(refused.status == .accepted, "no pull on team-b: an ordinary session, as if the blob were not there")
            #expect(refused.headers[.location]?.hasPrefix("/v2/team-a/app/blobs/uploads/") == true)
            #expect(try await r.client.head("/v2/team-a/app/blobs/\(digest)", headers: basic("alice")).status == .notFound)

            // bob (devs) pulls everywhere and pushes to team-b: his mount from alice's repository happens.
            let alices = try await r.client.push("team-a/app", headers: basic("alice")).image
            let mounted = try await r.client.send(.post, "/v2/team-b/app/blobs/uploads/?mount=\(alices.layers[0].digest)&from=team-a/app",
                                                  headers: basic("bob"))
            #expect(mounted.status == .created)
            #expect(try r.query("SELECT actor FROM audit_events WHERE action = 'blob.mount'") == [["bob"]])
        }
    }

    @Test("the catalog lists only repositories the caller may pull, and paginates over them")
    func catalogFiltered() async throws {
        try await withAuthRegistry(configure: Self.rules) { r in
            let names = ["public/a", "team-a/one", "team-a/two", "team-a/x/three", "team-b/one", "zeta/secret", "aaa/secret"]
            for name in names { try await r.client.push(name, headers: basic("admin")) }

            let alice = try await r.client.get("/v2/_catalog", headers: basic("alice"))
            #expect(try alice.decode(Catalog.self).repositories == ["public/a", "team-a/one", "team-a/two", "team-a/x/three"])
            let reader = try await r.client.get("/v2/_catalog", headers: basic("reader"))
            #expect(try reader.decode(Catalog.self).repositories == ["public/a", "team-a/one", "team-a/two", "team-a/x/three", "team-b/one"])
            let admin = try await r.client.get("/v2/_catalog", headers: basic("admin"))
            #expect(try admin.decode(Catalog.self).repositories == names.sorted())

            // Pagination walks the filtered list: pages of 2 with a Link to the next.
            var collected: [String] = []
            var uri: String? = "/v2/_catalog?n=2"
            var pages = 0
            while let next = uri, pages < 10 {
                let page = try await r.client.get(next, headers: basic("alice"))
                #expect(page.status == .ok)
                let items = try page.decode(Catalog.self).repositories
                #expect(items.count <= 2)
                collected += items
                uri = nextLink(page)
                pages += 1
            }
            #expect(collected == ["public/a", "team-a/one", "team-a/two", "team-a/x/three"])
            #expect(pages == 2)

            // Anonymous callers need a rule with the catalog action.
            expectError(try await r.client.get("/v2/_catalog"), .unauthorized, "UNAUTHORIZED")
        }
    }

    @Test("anonymous catalog where a rule gives anonymous the catalog action: only what it may pull")
    func anonymousCatalog() async throws {
        try await withAuthRegistry(configure: {
            Self.rules(&$0)
            $0.auth.rules.append(.init(subjects: ["anonymous"], repositories: ["public/**"], actions: [.catalog]))
        }) { r in
            for name in ["public/a", "public/b/c", "team-a/one"] { try await r.client.push(name, headers: basic("admin")) }
            let page = try await r.client.get("/v2/_catalog")
            #expect(page.status == .ok)
            #expect(try page.decode(Catalog.self).repositories == ["public/a", "public/b/c"])
        }
    }

    @Test("the audit actor is the user who made each change")
    func auditActor() async throws {
        try await withAuthRegistry(configure: Self.rules) { r in
            try await r.client.push("team-a/app", headers: basic("alice"))
            try await r.client.push("team-b/app", headers: basic("bob"))
            let rows = try r.query("""
                SELECT repository, group_concat(DISTINCT actor) FROM audit_events
                WHERE action IN ('blob.upload', 'manifest.put', 'tag.create', 'repository.create')
                GROUP BY repository ORDER BY repository
                """)
            #expect(rows == [["team-a/app", "alice"], ["team-b/app", "bob"]])
        }
    }
}
