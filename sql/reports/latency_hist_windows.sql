-- Latency histogram of production before and after a promotion (the windows of
-- window_quantiles.sql), in the log-spaced bins of latency_hist_arms.sql.
WITH windowed AS (
    SELECT CASE WHEN v.version_hash = $before_hash AND r.ts >= $before_from AND r.ts < $split
                THEN 'before'
                WHEN v.version_hash = $after_hash AND r.ts >= $split AND r.ts < $as_of
                THEN 'after' END AS grp,
           r.latency_ms
    FROM requests AS r
    JOIN request_prompt_versions AS v USING (request_id)
    WHERE r.ts >= $before_from AND r.ts < $as_of AND r.latency_ms IS NOT NULL
      AND (v.version_hash = $before_hash OR v.version_hash = $after_hash)
)
SELECT grp, floor(log10(greatest(latency_ms, 1.0)) * $per_decade)::BIGINT AS bin, count(*) AS n
FROM windowed
WHERE grp IS NOT NULL
GROUP BY ALL
ORDER BY grp, bin;
