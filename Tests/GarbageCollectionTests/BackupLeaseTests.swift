import Foundation
import GRDB
import OCI
@testable import RegistryCore
import Testing
import TestSupport

/// `registry backup` holds the GC lease for the whole copy: a timer renews it (a long
/// VACUUM INTO or one big copy must not outlast it), and a backup whose lease was lost
/// (another collector took it, and may have deleted blobs the copy lists) is aborted
/// with its partial output removed.
@Suite("Backup lease")
struct BackupLeaseTests {
    @Test func aLostLeaseAbortsTheBackupAndRemovesItsOutput() async throws {
        let store = try GCStore()
        try await store.pushBlob("backup/app", randomBytes(300))
        let destination = "\(store.directory)/backup/copy.db"
        var options = BackupOptions(destination: destination)
        options.blobsDirectory = "\(store.directory)/backup/blobs"
        let pool = store.pool
        // The lease expires and another collector takes it while the copy is running.
        options.afterDatabaseCopy = {
            try await pool.write { db in try db.execute(sql: "UPDATE gc_lease SET holder = 'thief:1/x' WHERE id = 1") }
        }

        let error = await #expect(throws: BackupError.self) {
            _ = try await DatabaseBackup(registry: store.registry).run(options)
        }
        guard case .leaseLost? = error else {
            Issue.record("expected leaseLost, got \(String(describing: error))")
            return
        }
        #expect("\(error!)".contains("aborted"))
        #expect(!FileManager.default.fileExists(atPath: destination), "no backup may be put in place")
        #expect(!FileManager.default.fileExists(atPath: destination + ".partial"), "the partial copy is removed")
        let holder = try await pool.read { db in try String.fetchOne(db, sql: "SELECT holder FROM gc_lease") }
        #expect(holder == "thief:1/x", "the backup must not release a lease that is not its own")
    }

    /// The copy outlasts the lease several times over; the timer keeps it, so no other
    /// collector can start meanwhile, and the backup completes.
    @Test func theLeaseIsRenewedWhileTheCopyRuns() async throws {
        let store = try GCStore()
        try await store.pushBlob("backup/app", randomBytes(300))
        let destination = "\(store.directory)/backup/copy.db"
        var options = BackupOptions(destination: destination)
        options.blobsDirectory = "\(store.directory)/backup/blobs"
        options.leaseDuration = 1
        options.leaseRenewal = .milliseconds(200)
        let registry = store.registry
        options.afterDatabaseCopy = {
            try await Task.sleep(for: .seconds(3))
            let other = GarbageCollector(registry: registry)
            await #expect(throws: GCError.self, "the lease is still held after 3 lease lengths") {
                _ = try await other.acquireLease()
            }
        }

        let report = try await DatabaseBackup(registry: store.registry).run(options)

        #expect(report.blobsLinked + report.blobsCopied == 1)
        #expect(FileManager.default.fileExists(atPath: destination))
        #expect(try await store.count("SELECT count(*) FROM gc_lease") == 0, "released at the end")
    }

    @Test func theTimerNoticesALostLease() async throws {
        let store = try GCStore()
        let holder = try await store.collector.acquireLease(duration: 60)
        let keeper = LeaseKeeper(registry: store.registry, holder: holder, duration: 60, interval: .milliseconds(50))
        defer { keeper.stop() }
        try keeper.check()
        try await keeper.renew()

        try await store.pool.write { db in try db.execute(sql: "DELETE FROM gc_lease") }
        let deadline = ContinuousClock.now + .seconds(20)
        while !keeper.isLost, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(keeper.isLost)
        #expect(throws: GCError.leaseLost(holder: holder)) { try keeper.check() }
        await #expect(throws: GCError.leaseLost(holder: holder)) { try await keeper.renew() }
    }

    @Test func renewLeaseReportsALeaseThatIsNotOurs() async throws {
        let store = try GCStore()
        let holder = try await store.collector.acquireLease()
        try await store.pool.write { db in try GarbageCollector.renewLease(db, holder: holder) }
        await #expect(throws: GCError.leaseLost(holder: "someone-else")) {
            try await store.pool.write { db in try GarbageCollector.renewLease(db, holder: "someone-else") }
        }
    }
}
