-- Audit: pull tracking, indexes for the common questions, and views that make each
-- of them one line of SQL. See docs/audit.md for the queries.

ALTER TABLE manifests ADD COLUMN last_pulled_at TEXT;
ALTER TABLE tags ADD COLUMN last_pulled_at TEXT;

CREATE INDEX audit_events_by_actor ON audit_events(actor, occurred_at);
CREATE INDEX audit_events_by_digest ON audit_events(digest) WHERE digest IS NOT NULL;
CREATE INDEX audit_events_by_action ON audit_events(action, occurred_at);

-- Total bytes of one manifest: its own bytes plus its config and layers.
CREATE VIEW manifest_sizes AS
SELECT m.id AS manifest_id,
       m.size + COALESCE((SELECT SUM(b.size) FROM manifest_blobs mb JOIN blobs b ON b.digest = mb.digest
                          WHERE mb.manifest_id = m.id), 0) AS total_size
FROM manifests m;

-- Every tag: what it points at, how big it is, who pushed it when, when it was last pulled.
-- For an index, total_size adds up its child manifests.
CREATE VIEW image_inventory AS
SELECT r.name AS repository,
       t.name AS tag,
       m.digest,
       m.media_type,
       s.total_size + COALESCE((SELECT SUM(cs.total_size) FROM manifest_children mc
                                JOIN manifest_sizes cs ON cs.manifest_id = mc.child_id
                                WHERE mc.parent_id = m.id), 0) AS total_size,
       t.updated_at AS pushed_at,
       (SELECT a.actor FROM audit_events a
        WHERE a.repository = r.name AND a.tag = t.name AND a.action IN ('tag.create', 'tag.move')
        ORDER BY a.id DESC LIMIT 1) AS pushed_by,
       COALESCE(t.last_pulled_at, m.last_pulled_at) AS last_pulled_at
FROM tags t
JOIN repositories r ON r.id = t.repository_id
JOIN manifests m ON m.id = t.manifest_id
JOIN manifest_sizes s ON s.manifest_id = m.id;

-- Bytes each repository's manifests reference: unique to it, or shared with others.
CREATE VIEW repository_storage AS
WITH repository_layers AS (
    SELECT DISTINCT m.repository_id, mb.digest
    FROM manifests m JOIN manifest_blobs mb ON mb.manifest_id = m.id
), sharing AS (
    SELECT digest, COUNT(*) AS repositories FROM repository_layers GROUP BY digest
)
SELECT r.name AS repository,
       (SELECT COUNT(*) FROM manifests WHERE repository_id = r.id) AS manifests,
       (SELECT COUNT(*) FROM tags WHERE repository_id = r.id) AS tags,
       COUNT(rl.digest) AS blobs,
       COALESCE(SUM(b.size), 0) AS total_bytes,
       COALESCE(SUM(CASE WHEN s.repositories = 1 THEN b.size END), 0) AS unique_bytes,
       COALESCE(SUM(CASE WHEN s.repositories > 1 THEN b.size END), 0) AS shared_bytes
FROM repositories r
LEFT JOIN repository_layers rl ON rl.repository_id = r.id
LEFT JOIN blobs b ON b.digest = rl.digest
LEFT JOIN sharing s ON s.digest = rl.digest
GROUP BY r.id;

-- Every creation, move and deletion of every tag.
CREATE VIEW tag_history AS
SELECT occurred_at, repository, tag,
       CASE action WHEN 'tag.create' THEN 'created' WHEN 'tag.move' THEN 'moved' ELSE 'deleted' END AS change,
       digest, actor, client_address, user_agent, request_id
FROM audit_events
WHERE action IN ('tag.create', 'tag.move', 'tag.delete');

-- What each actor did: one row per actor and action.
CREATE VIEW actor_activity AS
SELECT actor, action, COUNT(*) AS events, COUNT(DISTINCT repository) AS repositories,
       COALESCE(SUM(size), 0) AS bytes, MIN(occurred_at) AS first_at, MAX(occurred_at) AS last_at
FROM audit_events
GROUP BY actor, action;

-- Every garbage-collection run.
CREATE VIEW gc_history AS
SELECT id AS run, started_at, finished_at, trigger,
       CASE dry_run WHEN 1 THEN 'dry run' ELSE 'real' END AS mode,
       CASE delete_untagged WHEN 1 THEN 'delete untagged' ELSE 'keep untagged' END AS policy,
       status, manifests_deleted, blobs_deleted, uploads_deleted, orphan_files_deleted,
       bytes_reclaimed, duration_ms, error
FROM gc_runs;
