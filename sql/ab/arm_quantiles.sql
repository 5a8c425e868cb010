-- Per experiment and arm: request count and latency quantiles at the levels $levels (the
-- quantiles of interest and their order-statistic interval ranks), users in one arm only.
SELECT
    c.experiment,
    r.variant,
    count(*)                              AS n,
    quantile_disc(r.latency_ms, $levels)  AS q
FROM requests AS r
JOIN ab_config AS c
  ON r.experiment = c.experiment AND r.ts >= c.start_ts AND r.ts < c.end_ts
JOIN ab_user AS u
  ON u.experiment = c.experiment AND u.user_id = r.user_id AND u.arms = 1
WHERE r.latency_ms IS NOT NULL
GROUP BY ALL
ORDER BY c.experiment, r.variant;
