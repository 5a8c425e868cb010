-- Latency histogram of production before and after a promotion (the windows of
-- window_quantiles.sql), in the bins of the latency_bin macro (sql/schema/latency_bin_macro.sql).
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
SELECT grp, latency_bin(latency_ms, $per_decade) AS bin, count(*) AS n
FROM windowed
WHERE grp IS NOT NULL
GROUP BY ALL
ORDER BY grp, bin;
