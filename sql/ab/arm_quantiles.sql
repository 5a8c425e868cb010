-- Per experiment and logged arm: requests, the last one's time, and the latency quantiles at
-- the levels $levels (the quantiles of interest and the ranks of their order-statistic
-- intervals), over every request logged in the arm.
SELECT
    c.experiment,
    coalesce(r.variant, '(missing)')      AS variant,
    count(*)                              AS n,
    max(r.ts)                             AS last_ts,
    quantile_disc(r.latency_ms, $levels)  AS q,
    count(r.latency_ms)                   AS n_latency
FROM requests AS r
JOIN ab_config AS c
  ON r.experiment = c.experiment AND r.ts >= c.start_ts AND r.ts < c.end_ts
GROUP BY ALL
ORDER BY c.experiment, variant;
