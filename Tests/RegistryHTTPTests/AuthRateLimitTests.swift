import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import RegistryHTTP
import RegistryCore
import Testing

@Suite("Access control: failed logins are rate limited per client address")
struct AuthRateLimitTests {
    @Test("over the limit: 429 TOOMANYREQUESTS with Retry-After, even with the right password")
    func basicLogins() async throws {
        try await withAuthRegistry(configure: { $0.auth.mode = .htpasswd; $0.auth.failedLoginLimit = 3 }) { r in
            for _ in 0..<3 {
                expectError(try await r.client.get("/v2/", headers: basic("alice", "guess")), .unauthorized, "UNAUTHORIZED")
            }
            let limited = try await r.client.get("/v2/", headers: basic("alice"))
            expectError(limited, .tooManyRequests, "TOOMANYREQUESTS")
            let retryAfter = try #require(limited.headers[.retryAfter].flatMap(Int.init))
            #expect((1...60).contains(retryAfter))
            expectError(try await r.client.get("/v2/", headers: basic("bob")), .tooManyRequests, "TOOMANYREQUESTS")
            // No credentials is no login: still the ordinary challenge.
            expectError(try await r.client.get("/v2/"), .unauthorized, "UNAUTHORIZED")
        }
    }

    @Test("successful logins do not count")
    func successesDoNotCount() async throws {
        try await withAuthRegistry(configure: { $0.auth.mode = .htpasswd; $0.auth.failedLoginLimit = 2 }) { r in
            expectError(try await r.client.get("/v2/", headers: basic("alice", "guess")), .unauthorized, "UNAUTHORIZED")
            for _ in 0..<10 {
                #expect(try await r.client.get("/v2/", headers: basic("alice")).status == .ok)
            }
        }
    }

    @Test("the token endpoint is limited too")
    func tokenEndpoint() async throws {
        try await withAuthRegistry(configure: {
            $0.auth.mode = .token
            $0.auth.failedLoginLimit = 2
        }) { r in
            for _ in 0..<2 {
                #expect(try await r.client.get("/auth/token?service=stowage", headers: basic("alice", "guess")).status == .unauthorized)
            }
            let limited = try await r.client.get("/auth/token?service=stowage", headers: basic("alice"))
            expectError(limited, .tooManyRequests, "TOOMANYREQUESTS")
            #expect(limited.headers[.retryAfter] != nil)
        }
    }

    @Test("the window slides: once the failures are old enough, logins are allowed again")
    func windowSlides() async throws {
        let limiter = LoginRateLimiter(limit: 2, window: .milliseconds(300))
        #expect(limiter.retryAfter("10.0.0.1") == nil)
        limiter.recordFailure("10.0.0.1")
        #expect(limiter.retryAfter("10.0.0.1") == nil)
        limiter.recordFailure("10.0.0.1")
        let wait = try #require(limiter.retryAfter("10.0.0.1"))
        #expect(wait > .zero && wait <= .milliseconds(300))
        #expect(limiter.retryAfter("10.0.0.2") == nil, "per address")
        try await Task.sleep(for: .milliseconds(350))
        #expect(limiter.retryAfter("10.0.0.1") == nil)
    }

    @Test("a limit of 0 turns the limiter off")
    func off() {
        let limiter = LoginRateLimiter(limit: 0)
        for _ in 0..<100 { limiter.recordFailure("a") }
        #expect(limiter.retryAfter("a") == nil)
    }
}
