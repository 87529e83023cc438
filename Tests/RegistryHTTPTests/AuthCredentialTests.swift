import Foundation
import HTTPTypes
import HummingbirdBcrypt
import RegistryCore
import Testing

/// Credentials an attacker crafts: a password with a NUL in it, and timing that would
/// tell which user names exist.
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

    /// The medians of a wrong password for a real user and of an unknown user stay
    /// within 25% of each other, with a file as `htpasswd -B` writes it (cost 5). On a
    /// machine busy with other work one set of 60 pairs can miss by noise, so up to three
    /// sets are measured and one must pass; a real difference (the old decoy cost 20×)
    /// fails all three.
    @Test("an unknown user costs what a wrong password for a real user costs")
    func unknownUserTiming() async throws {
        let users = ["alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret"]
        let htpasswd = users.map { user, password in "\(user):$2y$" + Bcrypt.hash(password, cost: 5).dropFirst(4) }
            .joined(separator: "\n") + "\n"
        let attempts = try await withAuthRegistry(htpasswd: htpasswd, configure: {
            $0.auth.mode = .htpasswd
            $0.auth.failedLoginLimit = 0
        }) { r -> [(known: Double, unknown: Double)] in
            func time(_ user: String) async throws -> Double {
                let start = ContinuousClock.now
                let response = try await r.client.get("/v2/", headers: basic(user, "not-the-password"))
                let elapsed = ContinuousClock.now - start
                #expect(response.status == .unauthorized)
                return elapsed.seconds * 1000
            }
            _ = try await time("alice")
            func measure() async throws -> (known: Double, unknown: Double) {
            var known: [Double] = [], unknown: [Double] = []
            for round in 0..<60 {
                // Alternated, so that a busy moment of the machine hits both paths alike.
                if round.isMultiple(of: 2) {
                    known.append(try await time("alice"))
                    unknown.append(try await time("mallory-\(round)"))
                } else {
                    unknown.append(try await time("mallory-\(round)"))
                    known.append(try await time("bob"))
                }
            }
            return (median(known), median(unknown))
            }
            var attempts: [(known: Double, unknown: Double)] = []
            while attempts.count < 3, !(attempts.last.map(Self.close) ?? false) {
                attempts.append(try await measure())
            }
            return attempts
        }
        print("login timing medians (wrong password ms, unknown user ms): \(attempts)")
        #expect(attempts.contains(where: Self.close), "wrong password for a real user vs unknown user, medians in ms: \(attempts)")
    }

    private static func close(_ pair: (known: Double, unknown: Double)) -> Bool {
        max(pair.known, pair.unknown) <= min(pair.known, pair.unknown) * 1.25
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count.isMultiple(of: 2) ? (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2 : sorted[sorted.count / 2]
    }
}
