-- Hard-example candidates: requests with a thumbs-down, a rating <= 2 or a correction, with the
-- signals and the latest correction. The window [$since, $until) applies to the newest of those
-- signals; only feedback before $until counts ($requests_from and $feedback_from, from
-- export/window_bounds.sql, bound what is read). `has_input`: the input is a non-empty object
-- (the rows without one come first, one per prompt). Requests of the same prompt with the same input are one
-- row, the one that stands for them all (the strongest signal, then the most recent), with how
-- many others it stands for (`repeats`). Rows come ranked: by prompt, then strongest and most
-- recent first, so the export can stop at its cap per prompt.
WITH signals AS (
    SELECT request_id,
           bool_or(kind = 'thumbs' AND value = 0) AS thumbs_down,
           min(CASE WHEN kind = 'rating' THEN value END) AS min_rating,
           max(ts) FILTER (WHERE (kind = 'thumbs' AND value = 0)
                              OR (kind = 'rating' AND value <= 2)
                              OR kind = 'correction') AS signal_ts
    FROM feedback
    WHERE ($until IS NULL OR ts < $until) AND ts >= $feedback_from
      AND request_id IN (SELECT request_id FROM fw_window_requests($since, $until))
    GROUP BY request_id
),
chosen AS (
    SELECT s.request_id, s.thumbs_down, s.min_rating, s.signal_ts,
           c.corrected_output AS correction,
           r.ts AS request_ts, coalesce(r.prompt_name, $unknown_prompt) AS prompt_name,
           r.prompt_hash, r.model, r.input::VARCHAR AS input, r.output, r.error,
           CASE WHEN c.corrected_output IS NOT NULL THEN 3 WHEN s.min_rating <= 2 THEN 2
                WHEN s.thumbs_down THEN 1 ELSE 0 END AS strength,
           coalesce(json_type(r.input) = 'OBJECT' AND r.input::VARCHAR <> '{}', false)
               AS has_input
    FROM signals AS s
    JOIN requests AS r USING (request_id)
    LEFT JOIN fw_latest_corrections($since, $until, $feedback_from) AS c USING (request_id)
    WHERE r.ts >= $requests_from
      AND (s.thumbs_down OR s.min_rating <= 2 OR c.corrected_output IS NOT NULL)
      AND ($since IS NULL OR s.signal_ts >= $since)
      AND ($until IS NULL OR s.signal_ts < $until)
),
ranked AS (
    SELECT *, count(*) OVER same - 1 AS repeats
    FROM chosen
    WINDOW same AS (PARTITION BY prompt_name, has_input, CASE WHEN has_input THEN input END)
    QUALIFY row_number() OVER (same ORDER BY strength DESC, signal_ts DESC, request_id DESC) = 1
),
-- The prompt version each chosen request's prompt_hash (full, or a prefix of >= 12 hex) names:
-- n_versions 0 = unknown, 1 = resolved, more = ambiguous. For hex strings, "starts with p" is
-- "between p and p padded with f", which DuckDB runs as a range join.
versions AS (
    SELECT ch.request_id, count(*) AS n_versions, min(v.hash) AS version_hash
    FROM ranked AS ch
    JOIN prompt_versions AS v
      ON v.hash BETWEEN lower(ch.prompt_hash) AND rpad(lower(ch.prompt_hash), 64, 'f')
    WHERE ch.has_input
    GROUP BY ch.request_id
)
SELECT ch.*, v.version_hash, coalesce(v.n_versions, 0) AS n_versions
FROM ranked AS ch
LEFT JOIN versions AS v USING (request_id)
ORDER BY ch.has_input, ch.prompt_name, ch.strength DESC, ch.signal_ts DESC, ch.request_id DESC;
