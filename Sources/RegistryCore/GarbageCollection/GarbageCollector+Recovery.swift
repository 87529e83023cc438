extension GarbageCollector {
    /// Finishes or undoes whatever a crash interrupted, at start and at each run:
    /// `Registry.recoverRetirements` purges the trash files of committed retirements
    /// and moves the others back into `blobs/`; then an upload file whose session row
    /// was never written, once older than the delay, is removed. Returns the upload
    /// files removed.
    @discardableResult
    public func recover(runID: Int64? = nil, delay: Duration? = nil) async throws -> [(path: String, size: Int64)] {
        let (purged, restored) = try await registry.recoverRetirements()
        if purged + restored > 0 {
            logger.info("recovered interrupted blob deletions", metadata: ["purged": "\(purged)", "restored": "\(restored)"])
        }
        // Maintenance mode deletes nothing.
        guard !registry.configuration.readOnly else { return [] }
        let orphans = try await orphanUploadFiles(olderThan: delay ?? registry.configuration.gcDelay)
        return try await removeOrphanUploadFiles(orphans, runID: runID)
    }
}
