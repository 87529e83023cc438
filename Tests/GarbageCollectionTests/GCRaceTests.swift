import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import OCI
import RegistryCore
import RegistryHTTP
import Synchronization
import Testing
import TestSupport

/// The write protocol under load: the real HTTP server in this process takes pushes
/// from concurrent clients that share layers, while the built `registry-gc` runs over
/// and over as separate processes (two loops, so they also meet each other's lease).
@Suite("GC races with concurrent pushes", .serialized)
struct GCRaceTests {
    static let clients = 8
    static let iterations = 30
    /// Blob lease and manifest delay: a HEAD promises a blob for at least half of it.
    static let delay = Duration.seconds(3)

    @Test(.timeLimit(.minutes(15)))
    func collectorProcessesRacingConcurrentPushesLoseNothing() async throws {
        let gcPath = try builtExecutable("registry-gc")
        let store = try GCStore(gcDelay: Self.delay)
        var logger = Logger(label: "stowage-race")
        logger.logLevel = .error
        let app = Application(
            router: RegistryApplication.buildRouter(registry: store.registry),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: logger
        )
        let ledger = StressLedger()
        let pool = LayerPool(count: 8)
        let started = ContinuousClock.now

        let (tags, exitCodes) = try await app.test(.live) { client in
            let port = try #require(client.port)
            let stop = StopFlag()
            let collectorArguments = ["--data-dir", store.directory, "--delay", "\(Int(Self.delay.seconds))s", "--delete-untagged"]
            let loops = (0..<2).map { _ in
                Task { () -> [Int32] in
                    var codes: [Int32] = []
                    while !stop.isSet {
                        codes.append(try await ChildProcess.run(gcPath, collectorArguments).status)
                    }
                    return codes
                }
            }
            let tags = try await withThrowingTaskGroup(of: (Int, [String: StressClient.Tagged]).self) { group in
                for id in 0..<Self.clients {
                    group.addTask {
                        try await TestClient.withClient(host: "127.0.0.1", port: port) { http in
                            let client = StressClient(id: id, http: http, pool: pool, clients: Self.clients, ledger: ledger, delay: Self.delay)
                            return (id, try await client.run(iterations: Self.iterations))
                        }
                    }
                }
                var tags: [Int: [String: StressClient.Tagged]] = [:]
                for try await (id, model) in group { tags[id] = model }
                return tags
            }
            stop.set()
            var exitCodes: [Int32] = []
            for loop in loops { exitCodes += try await loop.value }

            // Quiet now. Every tag pulls completely, before and after a last collection
            // that runs with no delay once every lease is over.
            try await TestClient.withClient(host: "127.0.0.1", port: port) { http in
                for (id, model) in tags {
                    let client = StressClient(id: id, http: http, pool: pool, clients: Self.clients, ledger: ledger, delay: Self.delay)
                    for (tag, image) in model { try await client.pull(tag: tag, expected: image, context: "after the race") }
                }
            }
            try await Task.sleep(for: Self.delay + .milliseconds(200))
            let last = try await ChildProcess.run(gcPath, ["--data-dir", store.directory, "--delay", "0s", "--delete-untagged"])
            exitCodes.append(last.status)
            #expect(last.status == 0, "last collection: \(last.stderr)")
            try await TestClient.withClient(host: "127.0.0.1", port: port) { http in
                for (id, model) in tags {
                    let client = StressClient(id: id, http: http, pool: pool, clients: Self.clients, ledger: ledger, delay: Self.delay)
                    for (tag, image) in model { try await client.pull(tag: tag, expected: image, context: "after the last collection") }
                }
            }
            return (tags, exitCodes)
        }

        let findings = ledger.findings
        #expect(findings.isEmpty, "\(findings.count) findings:\n\(findings.prefix(30).joined(separator: "\n"))")
        #expect(exitCodes.allSatisfy { $0 == 0 || $0 == 75 }, "registry-gc exit codes: \(exitCodes)")
        let report = try await ConsistencyReport.check(directory: store.directory, pool: store.pool)
        #expect(report.isConsistent, "\(report)")
        #expect(report.trashFiles.isEmpty && report.journalRows == 0, "\(report)")
        let untaggedLeft = try await store.count("""
            SELECT count(*) FROM manifests m WHERE NOT EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)
              AND NOT EXISTS (SELECT 1 FROM manifest_children c JOIN tags t ON t.manifest_id = c.parent_id WHERE c.child_id = m.id)
            """)
        #expect(untaggedLeft == 0, "the last collection with no delay left \(untaggedLeft) manifests no tag reaches")
        let unreferenced = try await store.count("""
            SELECT count(*) FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.digest = b.digest)
            """)
        #expect(unreferenced == 0, "the last collection left \(unreferenced) unreferenced blobs")

        let totals = try await store.pool.read { db in
            try Row.fetchOne(db, sql: """
                SELECT count(*) AS runs, coalesce(sum(manifests_deleted), 0) AS manifests, coalesce(sum(blobs_deleted), 0) AS blobs,
                       coalesce(sum(uploads_deleted), 0) AS uploads, coalesce(sum(bytes_reclaimed), 0) AS bytes,
                       coalesce(sum(status != 'succeeded'), 0) AS unfinished
                FROM gc_runs
                """).map { "\($0["runs"] as Int) runs (\($0["unfinished"] as Int) not succeeded), \($0["manifests"] as Int) manifests + "
                    + "\($0["blobs"] as Int) blobs + \($0["uploads"] as Int) uploads deleted, \($0["bytes"] as Int64) bytes reclaimed" } ?? ""
        }
        #expect(try await store.count("SELECT count(*) FROM gc_runs WHERE status != 'succeeded'") == 0)
        let counts = ledger.counts
        #expect(counts.manifestPuts + counts.rebases + counts.indexPuts > Self.clients * Self.iterations / 3, "too few pushes to mean anything: \(counts)")
        #expect(try await store.count("SELECT sum(blobs_deleted) FROM gc_runs") > 0, "GC never collected anything during the race")
        print("""
            GC race: \(Self.clients) clients x \(Self.iterations) iterations in \(ContinuousClock.now - started); \
            \(counts.manifestPuts) image pushes, \(counts.rebases) rebased pushes (old image deleted meanwhile), \
            \(counts.indexPuts) index pushes, \(counts.blobUploads) blob uploads, \
            \(counts.blobHeadsFound) HEAD hits, \(counts.blobHeadsMissing) HEAD misses, \(counts.mounts) mounts \
            (\(counts.mountFallbacks) fell back to upload), \(counts.tagDeletes) tag deletes, \(counts.manifestDeletes) manifest deletes \
            (\(counts.manifestDeletesAlreadyGone) already collected), \(counts.pulls) full pulls, \
            \(counts.leaseExpiredFailures) manifest PUTs refused after a visibly expired grant; \
            registry-gc: \(exitCodes.count) processes, \(exitCodes.filter { $0 == 0 }.count) exit 0, \
            \(exitCodes.filter { $0 == 75 }.count) exit 75; \(totals); \(tags.values.reduce(0) { $0 + $1.count }) tags at the end
            """)
    }
}

/// Tells the collector loops to stop after their current run.
final class StopFlag: Sendable {
    private let flag = Mutex(false)
    var isSet: Bool { flag.withLock { $0 } }
    func set() { flag.withLock { $0 = true } }
}
