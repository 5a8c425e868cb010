-- Orphaned feedback whose request this ingest ($now) inserted is orphaned no longer.
DELETE FROM ingest_orphans
WHERE request_id IN (SELECT request_id FROM requests WHERE ingested_at = $now);
