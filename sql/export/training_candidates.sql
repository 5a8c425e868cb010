-- Fine-tuning and preference candidates, oldest first: each request's latest correction and,
-- when $include_rated, uncorrected outputs rated >= 4 or thumbed up with no negative feedback.
-- The window [$since, $until) applies to the time of the feedback that made the candidate.
WITH corrected AS (
    SELECT request_id, feedback_ts, corrected_output AS target, 'correction' AS source
    FROM fw_latest_corrections()
),
rated AS (
    SELECT f.request_id, max(f.ts) AS feedback_ts, 'rated' AS source
    FROM feedback AS f
    WHERE $include_rated AND f.kind IN ('rating', 'thumbs')
      AND f.request_id NOT IN (SELECT request_id FROM corrected)
    GROUP BY f.request_id
    HAVING bool_or((f.kind = 'rating' AND f.value >= 4) OR (f.kind = 'thumbs' AND f.value = 1))
       AND NOT bool_or((f.kind = 'rating' AND f.value <= 2) OR (f.kind = 'thumbs' AND f.value = 0))
),
candidates AS (
    SELECT request_id, feedback_ts, target, source FROM corrected
    UNION ALL
    SELECT ra.request_id, ra.feedback_ts, r.output AS target, ra.source
    FROM rated AS ra JOIN requests AS r USING (request_id)
    WHERE r.output IS NOT NULL AND r.error IS NULL
)
SELECT c.request_id, c.source, c.feedback_ts, c.target,
       r.ts AS request_ts, r.prompt_name, r.prompt_hash, r.model,
       r.input::VARCHAR AS input, r.messages::VARCHAR AS messages, r.output,
       coalesce(v.n_versions, 0) AS n_versions, v.version_hash, v.version_content
FROM candidates AS c
JOIN requests AS r USING (request_id)
LEFT JOIN fw_request_versions() AS v USING (request_id)
WHERE ($since IS NULL OR c.feedback_ts >= $since)
  AND ($until IS NULL OR c.feedback_ts < $until)
ORDER BY c.feedback_ts, c.request_id;
