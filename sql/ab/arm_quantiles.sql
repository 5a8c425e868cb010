-- Per experiment and logged arm: request count and latency quantiles at the levels $levels (the
-- quantiles of interest and the ranks of their order-statistic intervals).
SELECT
    c.experiment,
    coalesce(r.variant, '(missing)')      AS variant,
    count(*)                              AS n,
    quantile_disc(r.latency_ms, $levels)  AS q
FROM requests AS r
JOIN ab_config AS c
  ON r.experiment = c.experiment AND r.ts >= c.start_ts AND r.ts < c.end_ts
WHERE r.latency_ms IS NOT NULL
GROUP BY ALL
ORDER BY ALL;
