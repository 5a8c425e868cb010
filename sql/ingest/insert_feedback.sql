-- New, valid feedback of one staged file (its request may not have arrived yet: kept anyway). A
-- feedback id already stored between $lo and $hi (ingest/stage_span.sql) is a duplicate.
INSERT INTO feedback BY NAME
SELECT feedback_id, request_id, ts, kind, value, corrected_output, comment, user_id,
       $file AS source_file, $now AS ingested_at
FROM stage AS s
WHERE s.source_file = $file AND s.reason IS NULL
  AND NOT EXISTS (SELECT 1 FROM feedback AS f
                  WHERE f.ts BETWEEN $lo AND $hi AND f.feedback_id = s.feedback_id);
