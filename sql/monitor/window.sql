-- The requests of the night and of its trailing baseline nights, one row per request, with the
-- feedback each request had received by the end of its own night (so re-running a night later
-- gives the same numbers) and the logged prompt hash resolved: a hash or prefix that matches
-- exactly one registered version, or else one full hash logged in the window, becomes that full
-- hash (so a version logged in full and as a prefix is one version); hash_known says it is a
-- registered version. The nights in $stored (their metrics and token counts are stored) are left
-- out: they are read back (window_metrics.sql, window_tokens.sql); $raw_start is the first night
-- that is not, so the scans stay within the nights read.
CREATE OR REPLACE TEMP TABLE monitor_window AS
WITH win AS (
    SELECT request_id, date_trunc('day', ts) AS night_start, prompt_name,
           lower(prompt_hash) AS logged_hash, model, error, latency_ms,
           prompt_tokens, completion_tokens, cost_usd
    FROM requests
    WHERE ts >= $raw_start AND ts < $night_end
      AND NOT list_contains(CAST($stored AS DATE[]), CAST(date_trunc('day', ts) AS DATE))
),
candidates AS (  -- registered versions, then full hashes logged but not registered
    SELECT hash, true AS registered FROM prompt_versions
    UNION ALL
    SELECT DISTINCT logged_hash, false FROM win
    WHERE length(logged_hash) = 64 AND logged_hash NOT IN (SELECT hash FROM prompt_versions)
),
hash_map AS (
    SELECT l.logged_hash, count(c.hash) AS matches, min(c.hash) AS full_hash,
           count(c.hash) FILTER (WHERE c.registered) AS registered_matches
    FROM (SELECT DISTINCT logged_hash FROM win WHERE logged_hash IS NOT NULL) l
    LEFT JOIN candidates c ON starts_with(c.hash, l.logged_hash)
    GROUP BY l.logged_hash
),
fb AS (
    SELECT f.request_id,
           count(*) FILTER (WHERE f.kind = 'thumbs') AS thumbs_n,
           coalesce(sum(f.value) FILTER (WHERE f.kind = 'thumbs'), 0) AS thumbs_up,
           count(*) FILTER (WHERE f.kind = 'rating') AS rating_n,
           sum(f.value) FILTER (WHERE f.kind = 'rating') AS rating_sum,
           count(*) FILTER (WHERE f.kind = 'correction') > 0 AS corrected
    FROM feedback f JOIN win w USING (request_id)
    WHERE f.ts >= $raw_start - $feedback_early AND f.ts < w.night_start + INTERVAL 1 DAY
    GROUP BY f.request_id
)
SELECT w.request_id, CAST(w.night_start AS DATE) AS night, w.prompt_name,
       CASE WHEN h.matches = 1 THEN h.full_hash ELSE w.logged_hash END AS prompt_hash,
       coalesce(h.matches = 1 AND h.registered_matches = 1, false) AS hash_known,
       w.logged_hash, coalesce(h.registered_matches, 0) AS hash_matches, w.model, w.error, w.latency_ms,
       w.prompt_tokens, w.completion_tokens, w.cost_usd,
       coalesce(fb.thumbs_n, 0) AS thumbs_n, coalesce(fb.thumbs_up, 0) AS thumbs_up,
       coalesce(fb.rating_n, 0) AS rating_n, fb.rating_sum,
       coalesce(fb.corrected, false) AS corrected
FROM win w
LEFT JOIN hash_map h USING (logged_hash)
LEFT JOIN fb USING (request_id);
