-- The candidates (ingest/orphans_candidates.sql) whose request is nowhere in the store.
INSERT OR IGNORE INTO ingest_orphans
SELECT c.feedback_id, c.request_id FROM orphan_candidates AS c
WHERE NOT EXISTS (SELECT 1 FROM requests AS r WHERE r.request_id = c.request_id);
