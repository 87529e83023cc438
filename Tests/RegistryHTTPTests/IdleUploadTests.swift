import Foundation
import HTTPTypes
import HummingbirdTesting
import RegistryCore
import Testing
import TestSupport

// An idle upload session must not keep its file open for ever: a session the client
// abandons is removed by GC (perhaps in another process), and an open descriptor
// would keep its disk blocks allocated until the server restarts.

/// This process's descriptors open on the session's upload file.
private func openDescriptors(_ registry: Registry, _ location: String) throws -> Int {
    let id = try #require(location.split(separator: "/").last.map(String.init))
    let path = "\(registry.paths.uploadsDirectory)/\(id)"
    let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")
    return fds.filter { fd in
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? ""
        return target == path || target == path + " (deleted)"
    }.count
}

@Suite("Idle upload sessions: their files are closed, and they still continue")
struct IdleUploadTests {
    @Test("a session idle past the eviction age has its file closed; PATCH and PUT then complete it")
    func evictedSessionContinues() async throws {
        try await withLiveRegistry { registry, r in
            let bytes = randomBytes(3000)
            let digest = sha256(bytes)
            var location = try await r.startUpload("alpha")
            let first = try await r.send(.patch, location, headers: [.contentRange: "0-999", .contentType: "application/octet-stream"],
                                         body: Array(bytes[0..<1000]))
            #expect(first.status == .accepted)
            location = try #require(first.headers[.location])
            #expect(try openDescriptors(registry, location) == 1, "an idle session keeps its file open between requests")

            // Not idle long enough: kept.
            #expect(await registry.evictIdleUploadSessions(olderThan: .seconds(3600)) == 0)
            #expect(try openDescriptors(registry, location) == 1)

            try await Task.sleep(for: .milliseconds(300))
            #expect(await registry.evictIdleUploadSessions(olderThan: .milliseconds(200)) == 1)
            #expect(try openDescriptors(registry, location) == 0, "the idle session's file is still open")

            // The session goes on from the database row and the file.
            let second = try await r.send(.patch, location, headers: [.contentRange: "1000-2999", .contentType: "application/octet-stream"],
                                          body: Array(bytes[1000...]))
            #expect(second.status == .accepted, "\(second.text)")
            #expect(second.headers[.range] == "0-2999")
            location = try #require(second.headers[.location])
            let put = try await r.send(.put, "\(location)?digest=\(digest)")
            #expect(put.status == .created, "\(put.text)")
            #expect(sha256(try await r.get("/v2/alpha/blobs/\(digest)").bytes) == digest)
            #expect(try openDescriptors(registry, location) == 0)
        }
    }

    @Test("with a short upload timeout, idle sessions are closed as other uploads go on")
    func evictedOnOtherActivity() async throws {
        // The eviction age is a minute, or the upload timeout when shorter. The timeout
        // leaves room for a POST and a PATCH in a loaded test run.
        try await withLiveRegistry(configure: { $0.uploadTimeout = .seconds(8) }) { registry, r in
            let abandoned = try await r.uploadWithoutFinishing("alpha", randomBytes(1000))
            #expect(try openDescriptors(registry, abandoned) == 1)
            try await Task.sleep(for: .milliseconds(8500))
            // Any request that gives a session back sweeps the idle ones (at most once a second).
            let other = try await r.uploadWithoutFinishing("alpha", randomBytes(1000))
            #expect(try openDescriptors(registry, abandoned) == 0, "the abandoned session's file is still open")
            #expect(try openDescriptors(registry, other) == 1)
        }
    }
}
