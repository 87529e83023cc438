import GRDB
import OCI

/// The one way a blob file leaves `blobs/`, and the one way it comes back.
///
/// The invariant Stowage sells (DESIGN.md, "The write protocol") lives here: a file
/// disappears from `blobs/` only inside a write transaction (`BEGIN IMMEDIATE`,
/// SQLite's single writer lock, shared by the server and `registry-gc`) that
///
///  1. renews the collector lease the caller holds (one collector at a time; a lease
///     found lost stops the retirement before anything moves),
///  2. re-checks each candidate's condition under that lock, so that nothing can change
///     between the decision and the move:
///     - `.unreferenced` (GC): the row exists, no manifest references it, its lease has
///       run out; the row and its repository links are deleted right there;
///     - `.orphan` (`registry-gc --full`, `registry check --repair`): still no row, and
///       the file was last written longer ago than the delay (an upload that finished
///       since owns it now),
///  3. renames the file to `trash/`,
///  4. journals it in `blob_deletions`, and
///  5. writes its audit row (`AuditTrail`, actor `gc` or `registry-check`).
///
/// After the commit the trash files are unlinked (purged) on the blocking pool (`BlockingIO`),
/// and their journal rows are dropped by a later transaction. If the transaction
/// fails, the files it moved go back at once, by `restoreUnjournaled` (`Registry.writeMovingFiles`).
///
/// Recovery (`recoverRetirements`: at server start, at every GC run, and by
/// `registry check --repair`) decides by the journal alone, under the write lock:
///  - a trash file with a journal row belongs to a committed retirement: it is
///    unlinked and the row dropped (the purge is finished);
///  - a trash file without one belongs to a transaction that never committed (a
///    blob's row is still there; an orphan never had one): it goes back into
///    `blobs/`, unless a file is there again (the same bytes, uploaded since), in which
///    case the trash copy is dropped. This is the only restore path.
///
/// Nothing else renames or unlinks a file under `blobs/`; upload finish is the one way
/// in (Registry+Uploads.swift).
///
/// No fsync, per file or per batch, and none is needed for the invariant: the commit
/// itself is not synced either (WAL, `synchronous = NORMAL`), so after a power loss any
/// mix of lost transactions, renames and unlinks may come back, and each mix resolves
/// without losing a referenced blob. A lost transaction keeps its rows, so its trash
/// file (renamed or not) is unjournaled and goes back. A kept transaction whose rename
/// was lost leaves its file in `blobs/` without a row: an orphan, which `--full`
/// removes. A lost unlink whose journal row was dropped brings a trash file back
/// unjournaled: it is restored as an orphan too. The worst outcome is an orphan
/// file, never a row without its file.
extension Registry {
    /// The condition a blob must still meet, under the write lock, to be retired. Either
    /// way a digest still journaled (a retirement not yet purged holds its trash name)
    /// waits for the next run, after recovery has finished that one.
    enum RetirementCondition: Sendable {
        /// Its row exists, nothing references it and its lease has run out.
        case unreferenced
        /// No row describes the file and it was last written longer ago than this.
        case orphan(olderThan: Duration)

        var auditAction: String {
            switch self {
            case .unreferenced: "gc.blob.delete"
            case .orphan: "gc.orphan.delete"
            }
        }
    }

    /// Who retires blobs, for the journal and the audit trail, under which lease.
    struct Retirer: Sendable {
        /// The audit rows' actor: `gc`, or `registry-check` for `--repair`.
        var actor: String
        /// The GC run, written into the journal and audit rows (nil for `--repair`).
        var runID: Int64?
        /// The collector lease the caller holds (`GarbageCollector.withLease`).
        var leaseHolder: String
        var pacing: BatchPacing
    }

    struct RetiredBlob: Sendable, Hashable {
        var digest: Digest
        var size: Int64
    }

    struct RetirementOutcome: Sendable {
        var retired: [RetiredBlob] = []
        /// How long each of its write transactions held the write lock.
        var holds: [Duration] = []
    }

    /// Retires those of `candidates` that still meet `condition`, in batches paced by
    /// `retirer.pacing`: one write transaction each (see the type's comment). A batch's
    /// trash files are unlinked while the next transaction runs, and their journal rows
    /// go in the transaction after that, so a batch costs one commit and the unlinks no
    /// lock time. An error stops the retirement; what committed before it is in the
    /// journal, which the next recovery finishes. `progress` gets the number retired so far.
    func retireBlobs(
        _ candidates: [Digest], _ condition: RetirementCondition, by retirer: Retirer,
        progress: (@Sendable (Int) async -> Void)? = nil
    ) async throws -> RetirementOutcome {
        var outcome = RetirementOutcome()
        var purging: [Task<[Digest], Never>] = []
        var size = retirer.pacing.initial
        var rest = candidates[...]
        while !rest.isEmpty {
            let batch = Array(rest.prefix(size))
            rest = rest.dropFirst(batch.count)
            var purged: [Digest] = []
            while purging.count > 1 { purged += await purging.removeFirst().value }
            let (retired, hold) = try await retireBatch(batch, condition, by: retirer, forgetting: purged)
            outcome.retired += retired
            outcome.holds.append(hold)
            size = retirer.pacing.next(after: size, held: hold)
            let store = self.store
            let trashed = retired.map(\.digest)
            // A purge that could not run leaves its journal rows: recovery purges them.
            purging.append(Task { () -> [Digest] in
                (try? await BlockingIO.run { store.purge(trashed) }) == nil ? [] : trashed
            })
            await progress?(outcome.retired.count)
        }
        var purged: [Digest] = []
        for task in purging { purged += await task.value }
        if !purged.isEmpty {
            let forget = purged
            outcome.holds.append(try await heldWrite { db in try Self.forgetJournal(db, forget) }.hold)
        }
        return outcome
    }

    /// One batch: steps 1–5 of the type's comment in one write transaction, plus the
    /// journal rows of batches purged since. Returns what it retired (in trash,
    /// journaled, not yet purged) and how long it held the write lock.
    func retireBatch(
        _ batch: [Digest], _ condition: RetirementCondition, by retirer: Retirer, forgetting purged: [Digest]
    ) async throws -> (retired: [RetiredBlob], hold: Duration) {
        let store = self.store, logger = self.logger
        let (retired, hold) = try await writeMovingFiles { db, moved -> [RetiredBlob] in
            try GarbageCollector.renewLease(db, holder: retirer.leaseHolder)
            if !purged.isEmpty { try Self.forgetJournal(db, purged) }
            let eligible = switch condition {
            case .unreferenced: try Self.deleteUnreferencedRows(db, batch)
            case .orphan(let delay): try Self.stillOrphans(db, batch, olderThan: delay, store: store)
            }
            var retired: [RetiredBlob] = []
            for blob in eligible {
                if try store.moveBlobToTrash(blob.digest) {
                    moved.append(blob.digest)
                    try Self.journal(db, blob, by: retirer)
                } else if case .unreferenced = condition {
                    // Corruption that `registry check` reports; the row goes, as nothing can use it.
                    logger.warning("blob row without a file, row deleted", metadata: ["digest": "\(blob.digest)"])
                } else {
                    continue
                }
                try AuditTrail.record(db, .deletion(condition.auditAction, by: retirer.actor, runID: retirer.runID,
                                                    digest: blob.digest.description, size: blob.size))
                retired.append(blob)
            }
            return retired
        } undo: { db, moved in
            // The rows and journal entries rolled back, so the files go back.
            _ = try Self.restoreUnjournaled(db, moved, store: store)
        }
        return (retired, hold)
    }

    /// The rows of `.unreferenced` candidates that still qualify, deleted with their
    /// repository links (first: their foreign key to `blobs` is RESTRICT). In digest
    /// order, as the candidates come, so each B-tree is walked forward.
    private static func deleteUnreferencedRows(_ db: Database, _ batch: [Digest]) throws -> [RetiredBlob] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT b.digest, b.size FROM blobs b WHERE b.digest IN (SELECT value FROM json_each(?))
              AND b.protected_until < strftime('%Y-%m-%d %H:%M:%f', 'now')
              AND NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.digest = b.digest)
              AND NOT EXISTS (SELECT 1 FROM blob_deletions d WHERE d.digest = b.digest)
            ORDER BY b.digest
            """), arguments: [GarbageCollector.jsonArray(batch.map(\.description))])
        let blobs = rows.compactMap { row in Digest(row["digest"] as String).map { RetiredBlob(digest: $0, size: row["size"]) } }
        guard !blobs.isEmpty else { return [] }
        let digests = GarbageCollector.jsonArray(blobs.map(\.digest.description))
        try db.cachedStatement(sql: "DELETE FROM repository_blobs WHERE digest IN (SELECT value FROM json_each(?))")
            .execute(arguments: [digests])
        try db.cachedStatement(sql: "DELETE FROM blobs WHERE digest IN (SELECT value FROM json_each(?))")
            .execute(arguments: [digests])
        return blobs
    }

    /// The `.orphan` candidates that still have no row and whose file is still older
    /// than `delay` (an upload finishing renames its verified bytes over an orphan file
    /// of the same digest, in the transaction that inserts the row).
    private static func stillOrphans(_ db: Database, _ batch: [Digest], olderThan delay: Duration, store: BlobStore) throws -> [RetiredBlob] {
        let rowless = Set(try String.fetchAll(db.cachedStatement(sql: """
            SELECT value FROM json_each(?) WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE digest = value)
              AND NOT EXISTS (SELECT 1 FROM blob_deletions WHERE digest = value)
            """), arguments: [GarbageCollector.jsonArray(batch.map(\.description))]))
        return batch.filter { rowless.contains($0.description) }.compactMap { digest in
            let path = store.paths.blob(digest)
            guard let age = DirectoryListing.age(path), age > delay.seconds else { return nil }
            return RetiredBlob(digest: digest, size: DirectoryListing.size(path) ?? 0)
        }
    }

    /// Step 4 for one blob: its journal row.
    private static func journal(_ db: Database, _ blob: RetiredBlob, by retirer: Retirer) throws {
        try db.cachedStatement(sql: "INSERT INTO blob_deletions(digest, size, gc_run_id) VALUES (?, ?, ?)")
            .execute(arguments: [blob.digest.description, blob.size, retirer.runID])
    }

    /// Drops the journal rows of retirements whose trash files are gone.
    static func forgetJournal(_ db: Database, _ digests: [Digest]) throws {
        try db.cachedStatement(sql: "DELETE FROM blob_deletions WHERE digest IN (SELECT value FROM json_each(?))")
            .execute(arguments: [GarbageCollector.jsonArray(digests.map(\.description))])
    }

    // MARK: Recovery

    /// Finishes or undoes whatever a crash (or a failed commit) left in `trash/`, by the
    /// journal alone (the type's comment): journaled files are purged and their rows
    /// dropped; the others go back into `blobs/`. Journal rows whose trash file is gone
    /// (purged, then the process died) are dropped too. Returns how many files it
    /// purged and restored.
    @discardableResult
    func recoverRetirements() async throws -> (purged: Int, restored: Int) {
        let store = self.store
        let trashed = try await BlockingIO.run { store.trashedDigests() }
        let journaled = try await read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM blob_deletions") ?? 0 }
        guard !trashed.isEmpty || journaled > 0 else { return (0, 0) }
        // All under the write lock, the unlinks too: no retirement can move, journal or
        // forget one of these meanwhile. Recovery finds a handful of files, if any.
        return try await write { db in
            let journal = try String.fetchAll(db, sql: "SELECT digest FROM blob_deletions").compactMap(Digest.init)
            let journaledNames = Set(journal.map(\.description))
            store.purge(journal)
            try Self.forgetJournal(db, journal)
            let restored = try Self.restoreUnjournaled(db, trashed.filter { !journaledNames.contains($0.description) }, store: store)
            return (journal.count, restored)
        }
    }

    /// The one restore path, inside a write transaction: each of `digests` whose trash
    /// file has no journal row goes back into `blobs/` (dropped instead when a file is
    /// there again). Returns how many went back.
    private static func restoreUnjournaled(_ db: Database, _ digests: [Digest], store: BlobStore) throws -> Int {
        guard !digests.isEmpty else { return 0 }
        let journaled = Set(try String.fetchAll(db, sql: "SELECT digest FROM blob_deletions WHERE digest IN (SELECT value FROM json_each(?))",
                                                arguments: [GarbageCollector.jsonArray(digests.map(\.description))]))
        var restored = 0
        for digest in digests where !journaled.contains(digest.description) {
            if store.blobExists(digest) {
                store.removeFromTrash(digest)
            } else if store.restoreBlobFromTrash(digest) {
                restored += 1
            }
        }
        return restored
    }
}
