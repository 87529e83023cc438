import Foundation
import HTTPTypes
@testable import RegistryHTTP
import RegistryCore
import Testing

@Suite("Access control: patterns, policy, scopes, htpasswd parsing, requirements")
struct AuthUnitTests {
    @Test("* matches within one segment, ** across segments")
    func patterns() {
        let cases: [(String, String, Bool)] = [
            ("library/*", "library/ubuntu", true),
            ("library/*", "library/a/b", false),
            ("library/*", "library", false),
            ("team/**", "team/a", true),
            ("team/**", "team/a/b/c", true),
            ("team/**", "teams/a", false),
            ("**", "anything/at/all", true),
            ("*", "top", true),
            ("*", "two/levels", false),
            ("*/app", "x/app", true),
            ("*/app", "x/y/app", false),
            ("**/app", "x/y/app", true),
            ("a-*-b", "a-mid-b", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ]
        for (pattern, name, expected) in cases {
            #expect(RepositoryPattern(pattern).matches(name) == expected, "\(pattern) ~ \(name)")
        }
    }

    @Test("rules: users, groups, * and anonymous; authenticated users keep anonymous rights; no rules = users may do everything")
    func policy() {
        let policy = AccessPolicy(rules: [
            .init(subjects: ["alice"], repositories: ["a/**"], actions: [.pull, .push]),
            .init(subjects: ["group:ops"], repositories: ["**"], actions: [.delete]),
            .init(subjects: ["*"], repositories: ["shared/*"], actions: [.pull]),
            .init(subjects: ["anonymous"], repositories: ["public/*"], actions: [.pull, .catalog]),
        ], groups: ["ops": ["bob"]])
        #expect(policy.actions(for: "alice", on: "a/x") == [.pull, .push])
        #expect(policy.actions(for: "alice", on: "b/x") == [])
        #expect(policy.actions(for: "bob", on: "b/x") == [.delete])
        #expect(policy.actions(for: "carol", on: "shared/x") == [.pull])
        #expect(policy.actions(for: nil, on: "shared/x") == [])
        #expect(policy.actions(for: nil, on: "public/x") == [.pull])
        #expect(policy.actions(for: "alice", on: "public/x") == [.pull])
        #expect(policy.mayListCatalog(nil))
        #expect(policy.mayListCatalog("carol"))

        let open = AccessPolicy(rules: [], groups: [:])
        #expect(open.actions(for: "anyone", on: "x") == [.pull, .push, .delete])
        #expect(open.actions(for: nil, on: "x") == [])
        #expect(!open.mayListCatalog(nil))
    }

    @Test("scopes: repository names with slashes and ports, several per value, bad ones dropped")
    func scopes() {
        #expect(TokenScope("repository:a/b:pull,push") == TokenScope(type: "repository", name: "a/b", actions: ["pull", "push"]))
        #expect(TokenScope("repository:localhost:5000/a:pull") == TokenScope(type: "repository", name: "localhost:5000/a", actions: ["pull"]))
        #expect(TokenScope("registry:catalog:*") == TokenScope(type: "registry", name: "catalog", actions: ["*"]))
        #expect(TokenScope("repository(plugin):x:pull")?.type == "repository")
        #expect(TokenScope("nonsense") == nil)
        #expect(TokenScope.parseAll(["repository:a:pull repository:b:push", "bad"]).map(\.name) == ["a", "b"])
    }

    @Test("htpasswd: bcrypt only, $2y$ becomes $2b$, comments and blank lines skipped")
    func htpasswd() {
        let y = "$2y$05$" + String(repeating: "a", count: 53)
        let file = HtpasswdFile(contents: """
            # users
            alice:\(y)

            bob:$apr1$salt$hash
            carol:{SHA}abc
            broken line
            """)
        #expect(file.users == ["alice": "$2b$05$" + String(repeating: "a", count: 53)])
    }

    @Test("requirements from route and method")
    func requirements() {
        func requirement(_ method: HTTPRequest.Method, _ path: String) -> AccessRequirement {
            AccessRequirement(route: RegistryRoute.parse(path), method: method)
        }
        #expect(requirement(.get, "/v2/") == .authenticated)
        #expect(requirement(.get, "/v2/_catalog") == .catalog)
        #expect(requirement(.get, "/v2/nowhere") == .authenticated)
        #expect(requirement(.head, "/v2/a/b/manifests/v1") == .repository("a/b", [.pull]))
        #expect(requirement(.get, "/v2/a/blobs/sha256:x") == .repository("a", [.pull]))
        #expect(requirement(.get, "/v2/a/tags/list") == .repository("a", [.pull]))
        #expect(requirement(.get, "/v2/a/referrers/sha256:x") == .repository("a", [.pull]))
        #expect(requirement(.put, "/v2/a/manifests/v1") == .repository("a", [.push]))
        #expect(requirement(.post, "/v2/a/blobs/uploads/") == .repository("a", [.push]))
        #expect(requirement(.patch, "/v2/a/blobs/uploads/abc") == .repository("a", [.push]))
        #expect(requirement(.get, "/v2/a/blobs/uploads/abc") == .repository("a", [.push]))
        #expect(requirement(.delete, "/v2/a/blobs/uploads/abc") == .repository("a", [.push]))
        #expect(requirement(.delete, "/v2/a/manifests/v1") == .repository("a", [.delete]))
        #expect(requirement(.delete, "/v2/a/blobs/sha256:x") == .repository("a", [.delete]))
        #expect(requirement(.put, "/v2/a/manifests/v1").scope == "repository:a:pull,push")
        #expect(requirement(.get, "/v2/_catalog").scope == "registry:catalog:*")
    }

    @Test("Basic credentials: passwords may contain colons; other schemes are not Basic")
    func basicCredentials() {
        let encoded = Data("alice:pa:ss".utf8).base64EncodedString()
        let credentials = BasicCredentials(header: "Basic \(encoded)")
        #expect(credentials?.user == "alice" && credentials?.password == "pa:ss")
        #expect(BasicCredentials(header: "basic \(encoded)")?.user == "alice")
        #expect(BasicCredentials(header: "Bearer abc") == nil)
        #expect(BasicCredentials(header: "Basic %%%") == nil)
        #expect(bearerToken(header: "Bearer abc.def") == "abc.def")
        #expect(bearerToken(header: "Basic abc") == nil)
    }

    @Test("the credential cache remembers a pair for its TTL only, and only that pair")
    func credentialCache() async throws {
        let cache = CredentialCache(ttl: .milliseconds(200))
        cache.insert(user: "alice", password: "secret")
        #expect(cache.contains(user: "alice", password: "secret"))
        #expect(!cache.contains(user: "alice", password: "secret2"))
        #expect(!cache.contains(user: "alic", password: "esecret"))
        try await Task.sleep(for: .milliseconds(250))
        #expect(!cache.contains(user: "alice", password: "secret"))
    }
}
