import OCI

extension StoreChecker {
    /// `--repair`: what is safe to fix, under the GC lease (so no collector runs at the
    /// same time) and with each decision re-checked under the write lock. Orphan blob
    /// files leave the one way every blob file does (Registry+BlobRetirement.swift):
    /// re-checked, moved to trash, journaled and audited in one write transaction, then
    /// purged. Rows whose file is missing are never deleted here: the registry told
    /// clients those blobs were stored; the report says what to do.
    func repair(_ report: inout CheckReport, options: CheckOptions) async throws {
        let collector = GarbageCollector(registry: registry, logger: logger)
        try await collector.withLease { holder in
            // Renewed from a timer for the whole repair (recovery and the upload files run
            // outside the retirement's per-batch renewals); a lost lease stops it.
            let keeper = LeaseKeeper(registry: registry, holder: holder, logger: logger)
            defer { keeper.stop() }
            try await repairUploadFiles(&report, collector: collector, keeper: keeper)

            let leftovers = report.problems(.trashLeftover).count + report.problems(.deletionJournalLeftover).count
            if leftovers > 0 {
                try keeper.check()
                try await registry.recoverRetirements()
                report.problems.removeAll { $0.kind == .trashLeftover || $0.kind == .deletionJournalLeftover }
                report.repaired.append("finished the interrupted garbage collection (\(leftovers) trash files and journal rows)")
            }

            let orphans = report.problems(.orphanBlobFile).compactMap { $0.digest.flatMap(Digest.init) }
            guard !orphans.isEmpty else { return }
            try keeper.check()
            let retired = try await registry.retireBlobs(
                orphans.sorted { $0.description < $1.description }, .orphan(olderThan: options.recentWindow),
                by: .init(actor: Self.repairActor, runID: nil, leaseHolder: holder, pacing: GCOptions(delay: options.recentWindow).pacing)
            ).retired.map(\.digest)
            let gone = Set(retired.map(\.description))
            report.problems.removeAll { $0.kind == .orphanBlobFile && $0.digest.map(gone.contains) == true }
            report.repaired += retired.map { "moved orphan file \(store.paths.blob($0)) to trash and deleted it" }
        }
    }

    /// First, so that they are audited as the check's (recovery would remove them too).
    private func repairUploadFiles(_ report: inout CheckReport, collector: GarbageCollector, keeper: LeaseKeeper) async throws {
        let uploadOrphans = report.problems(.orphanUploadFile).compactMap { problem in
            problem.path.flatMap { UploadID(String($0.split(separator: "/").last ?? "")) }
        }
        guard !uploadOrphans.isEmpty else { return }
        try keeper.check()
        let removed = Set(try await collector.removeOrphanUploadFiles(uploadOrphans, actor: Self.repairActor).map(\.path))
        report.problems.removeAll { $0.kind == .orphanUploadFile && $0.path.map(removed.contains) == true }
        report.repaired += removed.sorted().map { "deleted orphan upload file \($0)" }
    }

    static let repairActor = "registry-check"
}
