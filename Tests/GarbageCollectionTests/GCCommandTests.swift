import Foundation
import OCI
import RegistryCore
import Testing
import TestSupport

/// `registry-gc` as an operator runs it: the JSON report is the run's, and the
/// summary says what was (or would be) deleted.
@Suite("registry-gc command")
struct GCCommandTests {
    @Test func jsonReportOfDryRunThenSummaryOfRealRun() async throws {
        let gc = try builtExecutable("registry-gc")
        let store = try GCStore()
        let garbage = try await store.plantGarbage()

        let dry = try await ChildProcess.run(gc, ["--data-dir", store.directory, "--delay", "0s", "--delete-untagged", "--dry-run", "--json"])

        #expect(dry.status == 0, "\(dry.stderr)")
        let report = try JSONDecoder().decode(GCReport.self, from: Data(dry.stdout.utf8))
        #expect(report.dryRun)
        #expect(Set(report.manifests.map(\.digest)) == garbage.garbageManifests)
        #expect(Set(report.blobs.map(\.digest)) == garbage.garbageBlobs)
        #expect(try await store.count("SELECT count(*) FROM gc_runs WHERE id = ? AND dry_run = 1", [report.runID]) == 1)
        try await store.expectManifest(garbage.untaggedImage, kept: true, "a dry run deletes nothing")

        let real = try await ChildProcess.run(gc, ["--data-dir", store.directory, "--delay", "0s", "--delete-untagged", "--batch-size", "2"])

        #expect(real.status == 0, "\(real.stderr)")
        #expect(real.stdout.contains("manifests deleted: 2"), "\(real.stdout)")
        #expect(real.stdout.contains("blobs deleted: \(garbage.garbageBlobs.count)"), "\(real.stdout)")
        try await store.expectManifest(garbage.untaggedImage, kept: false, "collected by registry-gc")
        try await store.pull(garbage.liveImage, tag: "v1")
    }

    @Test func invalidBatchSizeIsRefused() async throws {
        let gc = try builtExecutable("registry-gc")
        let store = try GCStore()
        let result = try await ChildProcess.run(gc, ["--data-dir", store.directory, "--batch-size", "0"])
        #expect(result.status != 0 && result.status != 75)
        #expect(result.stderr.contains("--batch-size"), "\(result.stderr)")
        #expect(try await store.count("SELECT count(*) FROM gc_runs") == 0)
    }
}
