-- New, valid feedback of the staged file (its request may not have arrived yet: kept anyway).
INSERT INTO feedback BY NAME
SELECT feedback_id, request_id, ts, kind, value, corrected_output, comment, user_id,
       $file AS source_file, $now AS ingested_at
FROM stage AS s
WHERE s.reason IS NULL
  AND NOT EXISTS (SELECT 1 FROM feedback AS f WHERE f.feedback_id = s.feedback_id)
QUALIFY row_number() OVER (PARTITION BY s.feedback_id ORDER BY s.line_no, s.rowid) = 1
ORDER BY s.rowid;
