import Foundation
import GRDB
import OCI
@testable import RegistryCore
import Testing
import TestSupport

/// `kill -9` of `registry-gc` at random points of its run: whatever the moment, the
/// store stays sound, nothing a manifest references is lost, and the next collector
/// (not blocked by the dead one's lease) finishes the job.
@Suite("GC killed mid-run", .serialized)
struct GCCrashTests {
    static let rounds = 10
    /// Kills land where chance puts them: a run ends up killed mid-sweep in about one
    /// round of three, so rounds go on (up to this many) until one has been.
    static let maximumRounds = 40
    static let imagesPerRound = 24

    /// With `--full`, so that the orphan files planted each round go the same way
    /// (retired, journaled, recovered) and must be gone after the next completed run.
    @Test(.timeLimit(.minutes(15)))
    func killedCollectorLosesNothingAndTheNextRunCompletes() async throws {
        let gc = try builtExecutable("registry-gc")
        let store = try GCStore(gcDelay: .milliseconds(10))
        let arguments = ["--data-dir", store.directory, "--delay", "0s", "--delete-untagged", "--full", "--batch-size", "1"]
        var kept: [(PushedManifest, String)] = []
        var kills = 0, completedBeforeKill = 0, killedAfterLease = 0, killedMidSweep = 0, leftInTrash = 0
        var killDelays: [Int] = []

        var rounds = 0
        while rounds < Self.rounds || (killedMidSweep == 0 && rounds < Self.maximumRounds) {
            let round = rounds
            rounds += 1
            kept += try await populate(store, round: round)
            let orphans = try (0..<3).map { _ in try store.plantOrphanFile(ageSeconds: 7200) }
            try await Task.sleep(for: .milliseconds(50))
            for _ in 0..<Int.random(in: 1...3) {
                let runsBefore = try await store.count("SELECT count(*) FROM gc_runs")
                // No backtracer: it would be SIGKILLed with its target and hang; a crash
                // of its own shows as a signal other than SIGKILL.
                let child = try ChildProcess(gc, arguments, environment: ["SWIFT_BACKTRACE": "enable=no"])
                // Half the kills count from the start of the process (most land before
                // it takes the lease), half from the start of its run (mark and sweep).
                let fromRunStart = Bool.random()
                if fromRunStart { try await waitForRunStart(store, after: runsBefore, child: child) }
                let delay = Int.random(in: 1...200)
                killDelays.append(fromRunStart ? -delay : delay)
                try await Task.sleep(for: .milliseconds(delay))
                child.kill9()
                let status = await child.wait()
                if child.wasKilled {
                    kills += 1
                    if try await store.count("SELECT count(*) FROM gc_runs") > runsBefore {
                        killedAfterLease += 1
                        let deletions = try await store.count("""
                            SELECT count(*) FROM audit_events WHERE gc_run_id = (SELECT max(id) FROM gc_runs)
                            """)
                        if deletions > 0 { killedMidSweep += 1 }
                    }
                    leftInTrash += ((try? FileManager.default.contentsOfDirectory(atPath: store.paths.trashDirectory)) ?? []).count
                    try await expectNothingReferencedLost(store, context: "after kill -9 at \(delay) ms in round \(round)")
                } else if let signal = child.signal {
                    Issue.record("registry-gc crashed with signal \(signal) (round \(round)): \(child.stderr)")
                } else {
                    #expect(status == 0, "registry-gc exited \(status) on its own (a stale lease must not block it): \(child.stderr)")
                    completedBeforeKill += 1
                }
            }
            let next = try await ChildProcess.run(gc, arguments)
            #expect(next.status == 0, "the run after a killed one must complete; exit \(next.status): \(next.stderr)")
            try await expectCollectedAndConsistent(store, kept: kept, context: "round \(round)")
            let left = orphans.filter { FileManager.default.fileExists(atPath: $0) }
            #expect(left.isEmpty, "round \(round): orphan files left after a completed --full run: \(left)")
        }

        let unfinished = try await store.count("SELECT count(*) FROM gc_runs WHERE status = 'running'")
        #expect(killedMidSweep > 0, "no collector was killed mid-sweep (after deleting something, before finishing)")
        #expect(unfinished == 0, "\(unfinished) runs of killed collectors are still 'running' in gc_history")
        print("""
            GC crash: \(rounds) rounds, \(kills) registry-gc killed (\(killedAfterLease) after taking the lease, \
            \(killedMidSweep) mid-sweep after committed deletions, \(leftInTrash) trash files found after kills, \
            \(unfinished) gc_runs rows left 'running'), \(completedBeforeKill) finished before the kill; \
            kill delays (negative: counted from the run's start) \(killDelays) ms
            """)
    }

    /// The run row of a collector killed mid-run says so once the next collector has
    /// taken the lease: failed, "interrupted", not "running" forever.
    @Test(.timeLimit(.minutes(5)))
    func killedCollectorsRunIsMarkedInterrupted() async throws {
        let gc = try builtExecutable("registry-gc")
        let store = try GCStore(gcDelay: .milliseconds(10))
        let arguments = ["--data-dir", store.directory, "--delay", "0s", "--delete-untagged", "--batch-size", "1"]
        var killedRun: Int64?
        for round in 0..<5 where killedRun == nil {
            _ = try await populate(store, round: round)
            let runsBefore = try await store.count("SELECT count(*) FROM gc_runs")
            let child = try ChildProcess(gc, arguments, environment: ["SWIFT_BACKTRACE": "enable=no"])
            try await waitForRunStart(store, after: runsBefore, child: child)
            child.kill9()
            _ = await child.wait()
            let run: Int64? = try await store.scalar("SELECT max(id) FROM gc_runs WHERE status = 'running'")
            if child.wasKilled, let run { killedRun = run }
        }
        let run = try #require(killedRun, "no collector could be killed mid-run in 5 tries")
        #expect(try await store.scalar("SELECT status FROM gc_history WHERE run = ?", [run]) == "running")

        let next = try await ChildProcess.run(gc, arguments)

        #expect(next.status == 0, "\(next.stderr)")
        #expect(try await store.scalar("SELECT status FROM gc_history WHERE run = ?", [run]) == "failed")
        #expect(try await store.scalar("SELECT error FROM gc_history WHERE run = ?", [run]) == "interrupted")
        #expect(try await store.count("SELECT count(*) FROM gc_runs WHERE status = 'running'") == 0)
        #expect(try await store.scalar("SELECT status FROM gc_history ORDER BY run DESC LIMIT 1") == "succeeded")
    }

    /// Until the collector has recorded its run (it holds the lease), or has exited.
    private func waitForRunStart(_ store: GCStore, after runs: Int, child: ChildProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while try await store.count("SELECT count(*) FROM gc_runs") == runs, child.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Pushes `imagesPerRound` images over shared layers in a few repositories, then
    /// deletes a third by digest, untags a third and lists some survivors in untagged
    /// indexes: plenty of manifests and blobs for the next run to delete.
    private func populate(_ store: GCStore, round: Int) async throws -> [(PushedManifest, String)] {
        let shared = (0..<4).map { _ in randomBytes(Int.random(in: 500...4000)) }
        var kept: [(PushedManifest, String)] = []
        var survivors: [PushedManifest] = []
        for k in 0..<Self.imagesPerRound {
            let repository = "crash/r\(k % 4)"
            let tag = "round\(round)-\(k)"
            let layers = [shared[k % 4], shared[(k + 1) % 4], randomBytes(Int.random(in: 500...4000)), randomBytes(Int.random(in: 500...4000))]
            let image = try await store.pushImage(repository, tag: tag, layers: layers)
            switch k % 3 {
            case 0: try await store.deleteManifest(image)
            case 1: try await store.deleteTag(repository, tag)
            default:
                kept.append((image, tag))
                survivors.append(image)
            }
        }
        for group in Dictionary(grouping: survivors, by: \.repository).values {
            try await store.pushIndex(group[0].repository, tag: nil, children: group)
        }
        return kept
    }

    /// Mid-crash state: the transaction a kill interrupted rolled back, so every
    /// referenced blob has its row; its file is in blobs/, or in trash/ until recovery.
    private func expectNothingReferencedLost(_ store: GCStore, context: String) async throws {
        let facts = try await store.pool.read { db in
            (integrity: try String.fetchAll(db, sql: "PRAGMA integrity_check"),
             foreignKeys: try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count,
             referenced: try String.fetchAll(db, sql: "SELECT DISTINCT digest FROM manifest_blobs"),
             rows: try String.fetchAll(db, sql: "SELECT digest FROM blobs"))
        }
        #expect(facts.integrity == ["ok"] && facts.foreignKeys == 0, "\(context): \(facts.integrity), \(facts.foreignKeys) FK violations")
        let lost = Set(facts.referenced + facts.rows).compactMap(Digest.init).filter { digest in
            !store.blobFileExists(digest) && !FileManager.default.fileExists(atPath: store.registry.store.trashPath(digest))
        }
        #expect(lost.isEmpty, "\(context): blobs with a row but no file anywhere: \(lost.prefix(5))")
    }

    /// After a completed run: sound, no trash, every kept image complete, all garbage gone.
    private func expectCollectedAndConsistent(_ store: GCStore, kept: [(PushedManifest, String)], context: String) async throws {
        let report = try await ConsistencyReport.check(directory: store.directory, pool: store.pool)
        #expect(report.isConsistent, "\(context): \(report)")
        #expect(report.trashFiles.isEmpty, "\(context): files left in trash/ after a completed run: \(report.trashFiles.prefix(5))")
        #expect(report.journalRows == 0, "\(context): \(report.journalRows) journal rows left")
        for (image, tag) in kept { try await store.pull(image, tag: tag) }
        let untagged = try await store.count("SELECT count(*) FROM manifests m WHERE NOT EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)")
        let unreferenced = try await store.count("""
            SELECT count(*) FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.digest = b.digest)
            """)
        #expect(untagged == 0 && unreferenced == 0, "\(context): garbage left: \(untagged) untagged manifests, \(unreferenced) unreferenced blobs")
        let running = try await store.count("SELECT count(*) FROM gc_lease")
        #expect(running == 0, "\(context): a completed run left the lease row")
    }
}
