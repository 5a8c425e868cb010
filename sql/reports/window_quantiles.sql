-- Production before and after a promotion: the requests of the version it replaced in
-- [$before_from, $split) ("before") and of the promoted version in [$split, $as_of) ("after").
-- Per window: users, requests, requests with a latency and the latency quantiles at $levels
-- (the quantiles and the ranks of their order-statistic intervals, as the A/B analysis uses).
WITH windowed AS (
    SELECT CASE WHEN v.version_hash = $before_hash AND r.ts >= $before_from AND r.ts < $split
                THEN 'before'
                WHEN v.version_hash = $after_hash AND r.ts >= $split AND r.ts < $as_of
                THEN 'after' END AS grp,
           r.user_id, r.latency_ms, r.ts
    FROM requests AS r
    JOIN request_prompt_versions AS v USING (request_id)
    WHERE r.ts >= $before_from AND r.ts < $as_of
      AND (v.version_hash = $before_hash OR v.version_hash = $after_hash)
)
SELECT grp,
       count(DISTINCT user_id)             AS users,
       count(*)                            AS requests,
       count(latency_ms)                   AS n_latency,
       min(ts)                             AS first_ts,
       max(ts)                             AS last_ts,
       quantile_disc(latency_ms, $levels)  AS q
FROM windowed
WHERE grp IS NOT NULL
GROUP BY grp
ORDER BY grp;
