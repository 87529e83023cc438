import GRDB
import OCI

#if canImport(Glibc)
import Glibc
#endif

extension GarbageCollector {
    /// `--full`: walks `blobs/` for files no row describes (older than the delay:
    /// removed, re-checked under the write lock) and rows whose blob file is missing
    /// (reported). This is the only part of GC that reads the whole disk. (Orphan upload
    /// files are removed by every run, in `recover`.)
    func scanDisk(_ options: GCOptions, report: inout GCReport) async throws {
        let paths = store.paths
        let files = store.blobFilesOnDisk()
        let delay = options.delay.seconds
        let oldFiles = files.filter { (DirectoryListing.age(paths.blob($0)) ?? 0) > delay }
        let rows = try await registry.read { db in
            Set(try String.fetchAll(db, sql: "SELECT digest FROM blobs"))
        }
        let orphans = oldFiles.filter { !rows.contains($0.description) }
        let onDisk = Set(files.map(\.description))
        report.missingBlobFiles = rows.filter { row in !onDisk.contains(row) && Digest(row).map { !store.blobExists($0) } != false }.sorted()
        // Each removal is audited ('gc.orphan.delete') and its bytes count as reclaimed.
        var removed: [(path: String, size: Int64)] = []
        if options.dryRun {
            removed = orphans.map { (paths.blob($0), DirectoryListing.size(paths.blob($0)) ?? 0) }
        } else {
            let store = self.store, runID = report.runID
            for start in stride(from: 0, to: orphans.count, by: options.batchSize) {
                let batch = Array(orphans[start..<min(start + options.batchSize, orphans.count)])
                removed += try await timedWrite(&report) { db -> [(path: String, size: Int64)] in
                    let stillRowless = try Set(String.fetchAll(db, sql: """
                        SELECT value FROM json_each(?) WHERE value NOT IN (SELECT digest FROM blobs)
                        """, arguments: [Self.jsonArray(batch.map(\.description))]))
                    return try batch.filter { stillRowless.contains($0.description) }.map { digest in
                        let path = store.paths.blob(digest), size = DirectoryListing.size(path) ?? 0
                        try Self.recordGCAudit(db, action: "gc.orphan.delete", repository: nil, digest: digest.description,
                                               size: size, runID: runID)
                        unlink(path)
                        return (path, size)
                    }
                }
            }
        }
        report.orphanFiles = (report.orphanFiles + removed.map(\.path)).sorted()
        report.orphanBytes += removed.reduce(0) { $0 + $1.size }
    }
}

extension BlobStore {
    /// Every file under `blobs/<alg>/<hh>/` whose name is a valid digest: the disk
    /// walk of `registry-gc --full` and `registry check`.
    func blobFilesOnDisk() -> [Digest] {
        var files: [Digest] = []
        for algorithm in Digest.Algorithm.allCases {
            let root = "\(paths.blobsDirectory)/\(algorithm.rawValue)"
            for shard in DirectoryListing.names(root) {
                for name in DirectoryListing.names("\(root)/\(shard)") {
                    if let digest = Digest("\(algorithm.rawValue):\(name)") { files.append(digest) }
                }
            }
        }
        return files
    }
}
