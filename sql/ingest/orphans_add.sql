-- Feedback this ingest ($now) inserted whose request is not in the store.
INSERT OR IGNORE INTO ingest_orphans
SELECT f.feedback_id, f.request_id FROM feedback AS f
WHERE f.ingested_at = $now
  AND NOT EXISTS (SELECT 1 FROM requests AS r WHERE r.request_id = f.request_id);
