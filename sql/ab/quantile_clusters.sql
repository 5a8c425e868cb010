-- Per experiment, arm and quantile metric, over users i: S_i = requests at or below the arm's
-- sample quantile, N_i = requests; their sums, squares and cross product (for the
-- cluster-robust variance of the quantile).
WITH per_user AS (
    SELECT h.experiment, h.variant, h.metric, r.user_id,
           count(*)                                          AS n_i,
           count(*) FILTER (WHERE r.latency_ms <= h.q_hat)   AS s_i
    FROM requests AS r
    JOIN ab_config AS c
      ON r.experiment = c.experiment AND r.ts >= c.start_ts AND r.ts < c.end_ts
    JOIN ab_user AS u
      ON u.experiment = c.experiment AND u.user_id = r.user_id AND u.arms = 1
    JOIN ab_quantile_hat AS h
      ON h.experiment = c.experiment AND h.variant = r.variant
    WHERE r.latency_ms IS NOT NULL
    GROUP BY ALL
)
SELECT experiment, variant, metric,
       count(*)                      AS clusters,
       sum(s_i)::DOUBLE              AS s_sum,
       sum(s_i * s_i)::DOUBLE        AS s_sum_squares,
       sum(n_i)::DOUBLE              AS n_sum,
       sum(n_i * n_i)::DOUBLE        AS n_sum_squares,
       sum(s_i * n_i)::DOUBLE        AS s_n
FROM per_user
GROUP BY ALL
ORDER BY experiment, variant, metric;
