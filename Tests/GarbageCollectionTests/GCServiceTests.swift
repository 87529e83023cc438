import Foundation
import GRDB
import OCI
import RegistryCore
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The background collector of `registry serve`, unattended: with nobody running
/// registry-gc it deletes exactly what `registry-gc --dry-run` said a run would.
@Suite("GC background service")
struct GCServiceTests {
    @Test func serverCollectsUnattendedWhatTheDryRunPredicted() async throws {
        let registryBinary = try builtExecutable("registry")
        let gc = try builtExecutable("registry-gc")
        let store = try GCStore()
        let garbage = try await store.plantGarbage()

        let dry = try await ChildProcess.run(gc, ["--data-dir", store.directory, "--delay", "0s", "--delete-untagged", "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let predicted = try JSONDecoder().decode(GCReport.self, from: Data(dry.stdout.utf8))
        #expect(!predicted.manifests.isEmpty && !predicted.blobs.isEmpty && !predicted.uploads.isEmpty)

        let config = store.directory + "/service-test.yml"
        try """
            gc:
              enabled: true
              interval: 1s
              delay: 0s
              delete_untagged: true
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ChildProcess(registryBinary, [
            "serve", "--data-dir", store.directory, "--config", config, "--listen", "127.0.0.1:\(try Self.freePort())",
        ])
        defer { server.kill9() }

        // The first finished service run; it should have collected everything.
        var run: ServiceRun?
        let deadline = ContinuousClock.now + .seconds(60)
        while run == nil, ContinuousClock.now < deadline, server.isRunning {
            try await Task.sleep(for: .milliseconds(200))
            run = try await store.pool.read { db -> ServiceRun? in
                try Row.fetchOne(db, sql: """
                    SELECT id, status, uploads_deleted, bytes_reclaimed
                    FROM gc_runs WHERE trigger = 'service' AND dry_run = 0 AND status != 'running' ORDER BY id LIMIT 1
                    """).map { ServiceRun(id: $0["id"], status: $0["status"], uploadsDeleted: $0["uploads_deleted"],
                                          bytesReclaimed: $0["bytes_reclaimed"]) }
            }
        }
        let finished = try #require(run, "no background GC run finished within 60 s; server stderr:\n\(server.stderr)")
        server.terminate()
        #expect(await server.wait() == 0, "registry serve exits 0 on SIGTERM: \(server.stderr)")

        #expect(finished.status == "succeeded")
        let runID = finished.id
        let deleted = try await store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT action, digest FROM audit_events WHERE gc_run_id = ?", arguments: [runID])
                .map { ($0["action"] as String, $0["digest"] as String?) }
        }
        let deletedManifests = Set(deleted.filter { $0.0 == "gc.manifest.delete" }.compactMap(\.1))
        let deletedBlobs = Set(deleted.filter { $0.0 == "gc.blob.delete" }.compactMap(\.1))
        #expect(deletedManifests == Set(predicted.manifests.map(\.digest)), "manifests: service vs dry run")
        #expect(deletedBlobs == Set(predicted.blobs.map(\.digest)), "blobs: service vs dry run")
        #expect(finished.uploadsDeleted == predicted.uploads.count)
        #expect(finished.bytesReclaimed == predicted.bytesReclaimed)
        for digest in predicted.blobs.compactMap({ Digest($0.digest) }) {
            #expect(!store.blobFileExists(digest), "file of collected blob \(digest)")
        }
        try await store.expectManifest(garbage.untaggedImage, kept: false, "collected by the service")
        try await store.pull(garbage.liveImage, tag: "v1")
    }

    struct ServiceRun: Sendable {
        var id: Int64
        var status: String
        var uploadsDeleted: Int
        var bytesReclaimed: Int64
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw HarnessError("bind: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
