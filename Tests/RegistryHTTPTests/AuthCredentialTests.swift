import Foundation
import HTTPTypes
import RegistryCore
import Testing

/// Credentials an attacker crafts: a password with a NUL in it.
@Suite("Access control: crafted credentials and user enumeration")
struct AuthCredentialTests {
    @Test("a NUL in the password or user name is refused (401), on /v2/ and on /auth/token")
    func nulRefused() async throws {
        try await withAuthRegistry(configure: { $0.auth.mode = .token }) { r in
            // bcrypt stops at the NUL: today's check would see "alice-secret".
            for header in [basic("alice", "alice-secret\0anything"), basic("alice\0", "alice-secret")] {
                expectError(try await r.client.get("/auth/token?service=stowage", headers: header), .unauthorized, "UNAUTHORIZED")
            }
            let form = "grant_type=password&username=alice&password=alice-secret%00anything&service=stowage"
            let posted = try await r.client.send(.post, "/auth/token", headers: [.contentType: "application/x-www-form-urlencoded"],
                                                 body: Array(form.utf8))
            expectError(posted, .unauthorized, "UNAUTHORIZED")
            #expect(try await r.client.get("/auth/token?service=stowage", headers: basic("alice")).status == .ok)
        }
        try await withAuthRegistry(configure: { $0.auth.mode = .htpasswd }) { r in
            expectError(try await r.client.get("/v2/", headers: basic("alice", "alice-secret\0anything")), .unauthorized, "UNAUTHORIZED")
            expectError(try await r.client.get("/v2/", headers: basic("alice", "alice-secret\0")), .unauthorized, "UNAUTHORIZED")
            #expect(try await r.client.get("/v2/", headers: basic("alice")).status == .ok)
            // A refusal is not a cache hit either, after the right password was seen.
            expectError(try await r.client.get("/v2/", headers: basic("alice", "alice-secret\0anything")), .unauthorized, "UNAUTHORIZED")
        }
    }
}
