-- Hard-example candidates: requests with a thumbs-down, a rating <= 2 or a correction, with the
-- signals and the latest correction. The window applies to the newest of those signals.
WITH signals AS (
    SELECT request_id,
           bool_or(kind = 'thumbs' AND value = 0) AS thumbs_down,
           min(CASE WHEN kind = 'rating' THEN value END) AS min_rating,
           max(ts) FILTER (WHERE (kind = 'thumbs' AND value = 0)
                              OR (kind = 'rating' AND value <= 2)
                              OR kind = 'correction') AS signal_ts
    FROM feedback
    GROUP BY request_id
)
SELECT s.request_id, s.thumbs_down, s.min_rating, s.signal_ts,
       c.corrected_output AS correction,
       r.ts AS request_ts, r.prompt_name, r.prompt_hash, r.model,
       r.input::VARCHAR AS input, r.output, r.error,
       v.version_hash, coalesce(v.n_versions, 0) AS n_versions
FROM signals AS s
JOIN requests AS r USING (request_id)
LEFT JOIN fw_latest_corrections() AS c USING (request_id)
LEFT JOIN fw_request_versions() AS v USING (request_id)
WHERE (s.thumbs_down OR s.min_rating <= 2 OR c.corrected_output IS NOT NULL)
  AND ($since IS NULL OR s.signal_ts >= $since)
  AND ($until IS NULL OR s.signal_ts < $until)
ORDER BY s.signal_ts, s.request_id;
