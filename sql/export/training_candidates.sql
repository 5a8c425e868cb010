-- Fine-tuning and preference candidates, oldest first: each request's latest correction and,
-- when $include_rated, uncorrected outputs rated >= 4 or thumbed up with no negative feedback.
-- The window [$since, $until) applies to the time of the feedback that made the candidate;
-- $requests_from and $feedback_from (export/window_bounds.sql) bound what is read.
-- Candidates that would make the same example (the same logged prompt hash, input, messages,
-- target and output) are one row, the oldest, with how many others it stands for (`repeats`):
-- the Python steps are the same for all of them, so they are run once.
WITH corrected AS (
    SELECT request_id, feedback_ts, corrected_output AS target, 'correction' AS source
    FROM fw_latest_corrections($since, $until, $feedback_from)
),
rated AS (
    SELECT f.request_id, max(f.ts) AS feedback_ts, 'rated' AS source
    FROM feedback AS f
    WHERE $include_rated AND f.kind IN ('rating', 'thumbs')
      AND ($until IS NULL OR f.ts < $until) AND f.ts >= $feedback_from
      AND f.request_id IN (SELECT request_id FROM fw_window_requests($since, $until))
      AND f.request_id NOT IN (SELECT request_id FROM corrected)
    GROUP BY f.request_id
    HAVING bool_or((f.kind = 'rating' AND f.value >= 4) OR (f.kind = 'thumbs' AND f.value = 1))
       AND NOT bool_or((f.kind = 'rating' AND f.value <= 2) OR (f.kind = 'thumbs' AND f.value = 0))
),
candidates AS (
    SELECT request_id, feedback_ts, target, source FROM corrected
    UNION ALL
    SELECT ra.request_id, ra.feedback_ts, NULL AS target, ra.source FROM rated AS ra
),
chosen AS (
    SELECT c.request_id, c.source, c.feedback_ts, coalesce(c.target, r.output) AS target,
           r.ts AS request_ts, r.prompt_name, r.prompt_hash, r.model,
           r.input::VARCHAR AS input, r.messages::VARCHAR AS messages, r.output
    FROM candidates AS c
    JOIN requests AS r USING (request_id)
    WHERE r.ts >= $requests_from
      AND ($since IS NULL OR c.feedback_ts >= $since)
      AND ($until IS NULL OR c.feedback_ts < $until)
      AND (c.source = 'correction' OR (r.output IS NOT NULL AND r.error IS NULL))
),
distinct_chosen AS (
    SELECT *, count(*) OVER same - 1 AS repeats
    FROM chosen
    WINDOW same AS (PARTITION BY prompt_hash, model, input, messages, target, output)
    QUALIFY row_number() OVER (same ORDER BY feedback_ts, request_id) = 1
),
-- The prompt version each chosen request's prompt_hash (full, or a prefix of >= 12 hex) names:
-- n_versions 0 = unknown, 1 = resolved, more = ambiguous. For hex strings, "starts with p" is
-- "between p and p padded with f", which DuckDB runs as a range join.
versions AS (
    SELECT ch.request_id, count(*) AS n_versions, min(v.hash) AS version_hash,
           min(v.content::VARCHAR) AS version_content
    FROM distinct_chosen AS ch
    JOIN prompt_versions AS v
      ON v.hash BETWEEN lower(ch.prompt_hash) AND rpad(lower(ch.prompt_hash), 64, 'f')
    GROUP BY ch.request_id
)
SELECT ch.*, coalesce(v.n_versions, 0) AS n_versions, v.version_hash, v.version_content
FROM distinct_chosen AS ch
LEFT JOIN versions AS v USING (request_id)
ORDER BY ch.feedback_ts, ch.request_id;
