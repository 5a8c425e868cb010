INSERT INTO ingest_failures (path, reason, attempts, first_seen, last_seen)
VALUES ($path, $reason, 1, $now, $now)
ON CONFLICT (path) DO UPDATE
SET reason = excluded.reason, attempts = ingest_failures.attempts + 1, last_seen = excluded.last_seen;
