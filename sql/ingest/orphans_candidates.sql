-- Feedback this ingest ($now) inserted whose request is not among the requests between $lo and
-- $hi (the feedback's own days and the week before them): the candidates ingest/orphans_add
-- checks against the whole store (when there are any: usually none). Answers with their number.
CREATE OR REPLACE TEMP TABLE orphan_candidates AS
SELECT f.feedback_id, f.request_id
FROM feedback AS f
WHERE f.ingested_at = $now
  AND NOT EXISTS (SELECT 1 FROM requests AS r
                  WHERE r.ts BETWEEN $lo AND $hi AND r.request_id = f.request_id);
