-- Stowage schema, version 1.
-- Timestamps are UTC text 'YYYY-MM-DD HH:MM:SS.SSS', so that
--   WHERE created_at > datetime('now', '-7 days')
-- works as an operator expects. Sizes are bytes. Digests are 'algorithm:hex'.

CREATE TABLE repositories (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);

-- One row per blob file under blobs/<algorithm>/<2 hex>/<hex>. A file without a row
-- is garbage; a row without a file is corruption. protected_until is the GC lease:
-- an unreferenced blob is not collected before it.
CREATE TABLE blobs (
    digest           TEXT PRIMARY KEY,
    size             INTEGER NOT NULL CHECK (size >= 0),
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    protected_until  TEXT NOT NULL
) WITHOUT ROWID;

-- A blob is readable in a repository only through a link (made by an upload or a mount).
CREATE TABLE repository_blobs (
    repository_id  INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest         TEXT NOT NULL REFERENCES blobs(digest) ON DELETE RESTRICT,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    PRIMARY KEY (repository_id, digest)
) WITHOUT ROWID;
CREATE INDEX repository_blobs_by_digest ON repository_blobs(digest);

-- payload holds the exact bytes that were pushed; they are served unchanged.
CREATE TABLE manifests (
    id              INTEGER PRIMARY KEY,
    repository_id   INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest          TEXT NOT NULL,
    media_type      TEXT NOT NULL,
    artifact_type   TEXT,
    subject_digest  TEXT,
    size            INTEGER NOT NULL,
    payload         BLOB NOT NULL,
    annotations     TEXT,  -- JSON object, as pushed, for the referrers API
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),  -- first push
    pushed_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),  -- latest push of these bytes
    UNIQUE (repository_id, digest)
);
CREATE INDEX manifests_by_subject ON manifests(repository_id, subject_digest)
    WHERE subject_digest IS NOT NULL;

-- Config and layers of an image manifest. RESTRICT: a referenced blob cannot go.
CREATE TABLE manifest_blobs (
    manifest_id  INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    digest       TEXT NOT NULL REFERENCES blobs(digest) ON DELETE RESTRICT,
    PRIMARY KEY (manifest_id, digest)
) WITHOUT ROWID;
CREATE INDEX manifest_blobs_by_digest ON manifest_blobs(digest);

-- Manifests an index lists. RESTRICT: a child cannot go while an index lists it.
CREATE TABLE manifest_children (
    parent_id  INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    child_id   INTEGER NOT NULL REFERENCES manifests(id) ON DELETE RESTRICT,
    PRIMARY KEY (parent_id, child_id)
) WITHOUT ROWID;
CREATE INDEX manifest_children_by_child ON manifest_children(child_id);

CREATE TABLE tags (
    repository_id  INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    manifest_id    INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    PRIMARY KEY (repository_id, name)
) WITHOUT ROWID;
CREATE INDEX tags_by_manifest ON tags(manifest_id);

-- Upload sessions in progress; the bytes are in uploads/<id>. size is the number of
-- bytes acknowledged to the client (the file is truncated back to it on resume).
CREATE TABLE uploads (
    id             TEXT PRIMARY KEY,
    repository_id  INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    size           INTEGER NOT NULL DEFAULT 0,
    started_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
) WITHOUT ROWID;

-- Every mutating action, written in the same transaction as the change itself.
-- repository is the name (not an id) so that rows outlive the repository.
CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY,
    occurred_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    actor           TEXT NOT NULL DEFAULT 'anonymous',
    action          TEXT NOT NULL,   -- blob.upload, blob.mount, blob.delete, manifest.put, manifest.delete, tag.create, tag.move, tag.delete, repository.create
    repository      TEXT,
    tag             TEXT,
    digest          TEXT,
    size            INTEGER,
    client_address  TEXT,
    user_agent      TEXT,
    request_id      TEXT
);
CREATE INDEX audit_events_by_time ON audit_events(occurred_at);
CREATE INDEX audit_events_by_repository ON audit_events(repository, occurred_at);
