import Foundation
import GRDB
import OCI
import RegistryCore
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// One collector at a time, in this process and across processes: the second gets
/// `GCError.leaseHeld` (registry-gc: exit 75); a lease left by a dead collector does
/// not block the next.
@Suite("GC collector lease")
struct GCCollectorLeaseTests {
    @Test func secondCollectorWhileOneRunsIsRefused() async throws {
        let gc = try builtExecutable("registry-gc")
        let store = try GCStore()
        let garbage = try await store.plantGarbage()
        let gate = Gate()
        var options = GCOptions(delay: .zero)
        options.deleteUntagged = true
        let holding = options
        let first = Task {
            try await store.collector.run(holding) { message in
                if message == "marking" { await gate.enterAndWait() }
            }
        }
        defer { gate.open() }
        try await gate.waitUntilEntered()

        let second = GarbageCollector(registry: store.registry)
        let refused = await #expect(throws: GCError.self, "a second collector in the same process") {
            _ = try await second.run(options)
        }
        if case .leaseHeld(let holder, _)? = refused {
            #expect(holder.contains(":\(getpid())"), "the error names the holder: \(holder)")
        }
        await #expect(throws: GCError.self, "the same collector started twice") {
            _ = try await store.collector.run(options)
        }
        let other = try await ChildProcess.run(gc, ["--data-dir", store.directory, "--delay", "0s", "--delete-untagged"])
        #expect(other.status == 75, "registry-gc while another collector runs: exit \(other.status), stderr: \(other.stderr)")
        #expect(other.stderr.contains("another garbage collector is running"), "\(other.stderr)")
        #expect(try await store.count("SELECT count(*) FROM gc_runs") == 1, "a refused collector must not record a run")

        gate.open()
        let report = try await first.value
        #expect(Set(report.manifests.map(\.digest)) == garbage.garbageManifests, "the first collector completes its run")
        #expect(try await store.count("SELECT count(*) FROM gc_lease") == 0, "the lease is released at the end")
        _ = try await second.run(options)
        let after = try await ChildProcess.run(gc, ["--data-dir", store.directory, "--delay", "0s", "--delete-untagged"])
        #expect(after.status == 0, "\(after.stderr)")
    }

    /// A collector SIGKILLed mid-run leaves its lease row; its PID is gone, so the next
    /// collector takes over at once instead of waiting out the lease.
    @Test func leaseOfDeadCollectorIsTakenOver() async throws {
        let store = try GCStore()
        let garbage = try await store.plantGarbage()
        let exited = try ChildProcess("/bin/true", [])
        _ = await exited.wait()
        try await holdLease(store, holder: "\(ProcessInfo.processInfo.hostName):\(exited.pid)", seconds: 600)

        let report = try await store.gc(deleteUntagged: true)

        #expect(Set(report.manifests.map(\.digest)) == garbage.garbageManifests)
    }

    /// A valid lease held by a live process (not this one) refuses; an expired one does not.
    @Test func leaseOfLiveProcessRefusesUntilItExpires() async throws {
        let store = try GCStore()
        let holder = "\(ProcessInfo.processInfo.hostName):\(getppid())"
        try await holdLease(store, holder: holder, seconds: 600)

        await #expect(throws: GCError.self) { try await store.gc() }

        try await holdLease(store, holder: holder, seconds: -1)
        _ = try await store.gc()
    }

    private func holdLease(_ store: GCStore, holder: String, seconds: Int) async throws {
        try await store.pool.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO gc_lease(id, holder, expires_at)
                VALUES (1, ?, strftime('%Y-%m-%d %H:%M:%f', 'now', ?))
                """, arguments: [holder, "\(seconds) seconds"])
        }
    }
}

/// Holds a collector inside its run: the run's progress handler enters the gate and
/// waits, suspended, until the test opens it (bounded, so a failing test cannot hang).
/// It must not block its thread: the concurrency pool has one thread per core, and a
/// blocked one stalls every other test's server in this process.
final class Gate: Sendable {
    private let entered = Mutex(false)
    private let opened = Mutex(false)

    func enterAndWait() async {
        entered.withLock { $0 = true }
        let deadline = ContinuousClock.now + .seconds(60)
        while !opened.withLock({ $0 }), !Task.isCancelled, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    func waitUntilEntered() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !entered.withLock({ $0 }) {
            guard ContinuousClock.now < deadline else { throw HarnessError("the first collector never started") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func open() {
        opened.withLock { $0 = true }
    }
}
