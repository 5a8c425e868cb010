-- The time span of the feedback this ingest ($now) inserted, from $before before its first
-- record to $after after its last: where their requests usually are.
SELECT min(ts) - $before AS lo, max(ts) + $after AS hi FROM feedback WHERE ingested_at = $now;
