import GRDB
import OCI

#if canImport(Glibc)
import Glibc
#endif

extension GarbageCollector {
    /// `--full`: walks `blobs/` and `uploads/` for files no row describes (older than
    /// the delay: removed, re-checked under the write lock) and rows whose blob file
    /// is missing (reported). This is the only part of GC that reads the whole disk.
    func scanDisk(_ options: GCOptions, report: inout GCReport) async throws {
        let paths = store.paths
        var files: [Digest] = []
        for algorithm in Digest.Algorithm.allCases {
            let root = "\(paths.blobsDirectory)/\(algorithm.rawValue)"
            for shard in DirectoryListing.names(root) {
                for name in DirectoryListing.names("\(root)/\(shard)") {
                    if let digest = Digest("\(algorithm.rawValue):\(name)") { files.append(digest) }
                }
            }
        }
        let delay = options.delay.seconds
        let oldFiles = files.filter { (DirectoryListing.age(paths.blob($0)) ?? 0) > delay }
        let rows = try await registry.read { db in
            Set(try String.fetchAll(db, sql: "SELECT digest FROM blobs"))
        }
        let orphans = oldFiles.filter { !rows.contains($0.description) }
        let onDisk = Set(files.map(\.description))
        report.missingBlobFiles = rows.filter { row in !onDisk.contains(row) && Digest(row).map { !store.blobExists($0) } != false }.sorted()
        var removed: [String] = []
        if options.dryRun {
            removed = orphans.map { paths.blob($0) }
        } else {
            let store = self.store
            for start in stride(from: 0, to: orphans.count, by: options.batchSize) {
                let batch = Array(orphans[start..<min(start + options.batchSize, orphans.count)])
                removed += try await timedWrite(&report) { db -> [String] in
                    let stillRowless = try Set(String.fetchAll(db, sql: """
                        SELECT value FROM json_each(?) WHERE value NOT IN (SELECT digest FROM blobs)
                        """, arguments: [Self.jsonArray(batch.map(\.description))]))
                    return batch.filter { stillRowless.contains($0.description) }.map { digest in
                        unlink(store.paths.blob(digest))
                        return store.paths.blob(digest)
                    }
                }
            }
        }
        let uploadRows = try await registry.read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM uploads")) }
        for name in DirectoryListing.names(paths.uploadsDirectory) where !uploadRows.contains(name) {
            guard let id = UploadID(name), (DirectoryListing.age(paths.upload(id)) ?? 0) > delay else { continue }
            if !options.dryRun { store.removeUploadFile(id) }
            removed.append(paths.upload(id))
        }
        report.orphanFiles = removed.sorted()
    }
}
