-- Garbage collection: run history, the trash journal, the collector lease, and the
-- candidate queues that make a run's cost grow with the garbage, not the registry.

-- One row per run, dry or not, from the server's background service or registry-gc.
CREATE TABLE gc_runs (
    id                    INTEGER PRIMARY KEY,
    started_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    finished_at           TEXT,
    trigger               TEXT NOT NULL,            -- 'service' or 'cli'
    dry_run               INTEGER NOT NULL,
    delete_untagged       INTEGER NOT NULL,
    full_scan             INTEGER NOT NULL,
    delay_seconds         REAL NOT NULL,
    status                TEXT NOT NULL DEFAULT 'running',  -- running, succeeded, failed
    manifests_deleted     INTEGER NOT NULL DEFAULT 0,
    blobs_deleted         INTEGER NOT NULL DEFAULT 0,
    uploads_deleted       INTEGER NOT NULL DEFAULT 0,
    orphan_files_deleted  INTEGER NOT NULL DEFAULT 0,
    bytes_reclaimed       INTEGER NOT NULL DEFAULT 0,
    duration_ms           INTEGER,
    error                 TEXT
);

-- What a (non-dry) run deleted is in audit_events, actor 'gc', with the run's id.
ALTER TABLE audit_events ADD COLUMN gc_run_id INTEGER REFERENCES gc_runs(id);
CREATE INDEX audit_events_by_gc_run ON audit_events(gc_run_id) WHERE gc_run_id IS NOT NULL;

-- Blob files moved to trash/ by a committed GC transaction and not yet unlinked.
CREATE TABLE blob_deletions (
    digest      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    gc_run_id   INTEGER,
    deleted_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
) WITHOUT ROWID;

-- At most one collector at a time, across processes.
CREATE TABLE gc_lease (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    holder       TEXT NOT NULL,   -- 'hostname:pid'
    acquired_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    expires_at   TEXT NOT NULL
);

-- Blobs that may have become garbage: new blobs, and blobs a manifest stopped
-- referencing. A run examines only these.
CREATE TABLE gc_blob_candidates (
    digest  TEXT PRIMARY KEY
) WITHOUT ROWID;

-- Manifests that may have become unreachable: new manifests, manifests that lost a
-- tag or a parent index, referrers whose subject went.
CREATE TABLE gc_manifest_candidates (
    manifest_id  INTEGER PRIMARY KEY
);

CREATE TRIGGER gc_queue_new_blob AFTER INSERT ON blobs
BEGIN
    INSERT OR IGNORE INTO gc_blob_candidates(digest) VALUES (NEW.digest);
END;

CREATE TRIGGER gc_queue_dereferenced_blob AFTER DELETE ON manifest_blobs
BEGIN
    INSERT OR IGNORE INTO gc_blob_candidates(digest) VALUES (OLD.digest);
END;

CREATE TRIGGER gc_forget_blob AFTER DELETE ON blobs
BEGIN
    DELETE FROM gc_blob_candidates WHERE digest = OLD.digest;
END;

CREATE TRIGGER gc_queue_new_manifest AFTER INSERT ON manifests
BEGIN
    INSERT OR IGNORE INTO gc_manifest_candidates(manifest_id) VALUES (NEW.id);
END;

CREATE TRIGGER gc_queue_untagged_manifest AFTER DELETE ON tags
BEGIN
    INSERT OR IGNORE INTO gc_manifest_candidates(manifest_id)
    SELECT OLD.manifest_id WHERE EXISTS (SELECT 1 FROM manifests WHERE id = OLD.manifest_id);
END;

CREATE TRIGGER gc_queue_retagged_manifest AFTER UPDATE OF manifest_id ON tags
BEGIN
    INSERT OR IGNORE INTO gc_manifest_candidates(manifest_id) VALUES (OLD.manifest_id);
END;

CREATE TRIGGER gc_queue_orphaned_child AFTER DELETE ON manifest_children
BEGIN
    INSERT OR IGNORE INTO gc_manifest_candidates(manifest_id)
    SELECT OLD.child_id WHERE EXISTS (SELECT 1 FROM manifests WHERE id = OLD.child_id);
END;

CREATE TRIGGER gc_queue_referrers_of_deleted AFTER DELETE ON manifests
BEGIN
    DELETE FROM gc_manifest_candidates WHERE manifest_id = OLD.id;
    INSERT OR IGNORE INTO gc_manifest_candidates(manifest_id)
    SELECT id FROM manifests WHERE repository_id = OLD.repository_id AND subject_digest = OLD.digest;
END;

-- Whatever existed before this migration is a candidate once.
INSERT INTO gc_blob_candidates(digest) SELECT digest FROM blobs;
INSERT INTO gc_manifest_candidates(manifest_id) SELECT id FROM manifests;
