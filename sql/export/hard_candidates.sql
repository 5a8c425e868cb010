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
),
chosen AS (
    SELECT s.request_id, s.thumbs_down, s.min_rating, s.signal_ts,
           c.corrected_output AS correction,
           r.ts AS request_ts, r.prompt_name, r.prompt_hash, r.model,
           r.input::VARCHAR AS input, r.output, r.error
    FROM signals AS s
    JOIN requests AS r USING (request_id)
    LEFT JOIN fw_latest_corrections() AS c USING (request_id)
    WHERE (s.thumbs_down OR s.min_rating <= 2 OR c.corrected_output IS NOT NULL)
      AND ($since IS NULL OR s.signal_ts >= $since)
      AND ($until IS NULL OR s.signal_ts < $until)
),
-- The prompt version each chosen request's prompt_hash (full, or a prefix of >= 12 hex) names:
-- n_versions 0 = unknown, 1 = resolved, more = ambiguous. For hex strings, "starts with p" is
-- "between p and p padded with f", which DuckDB runs as a range join.
versions AS (
    SELECT ch.request_id, count(*) AS n_versions, min(v.hash) AS version_hash,
           min(v.content::VARCHAR) AS version_content
    FROM chosen AS ch
    JOIN prompt_versions AS v
      ON v.hash BETWEEN lower(ch.prompt_hash) AND rpad(lower(ch.prompt_hash), 64, 'f')
    GROUP BY ch.request_id
)
SELECT ch.*, v.version_hash, coalesce(v.n_versions, 0) AS n_versions
FROM chosen AS ch
LEFT JOIN versions AS v USING (request_id)
ORDER BY ch.signal_ts, ch.request_id;
