-- Per experiment, user and logged arm: the sufficient statistics of the experiment period;
-- latency_le_q1/q2 count the requests at or below the arm's sample p50/p95 (for the
-- cluster-robust quantile variance); arms = how many arms the user was logged in; and the arm
-- assign_variant gives (fw_assign_variant, sql/ab/assign_variant_macro.sql).
CREATE OR REPLACE TEMP TABLE ab_user_arm AS
WITH grouped AS (
    SELECT
        c.experiment,
        r.user_id,
        coalesce(r.variant, '(missing)')                                AS variant,
        count(*)                                                        AS requests,
        min(r.ts)                                                       AS first_ts,
        count(*) FILTER (WHERE r.error IS NOT NULL)                     AS errors,
        coalesce(sum(r.latency_ms), 0)                                  AS latency_sum,
        count(r.latency_ms)                                             AS latency_n,
        count(*) FILTER (WHERE r.latency_ms <= q.q1)             AS latency_le_q1,
        count(*) FILTER (WHERE r.latency_ms <= q.q2)             AS latency_le_q2,
        coalesce(sum(r.prompt_tokens + r.completion_tokens), 0)         AS tokens_sum,
        count(r.prompt_tokens + r.completion_tokens)                    AS tokens_n,
        coalesce(sum(r.cost_usd), 0)                                    AS cost_sum,
        count(r.cost_usd)                                               AS cost_n,
        coalesce(sum(f.thumbs), 0)                                      AS thumbs,
        coalesce(sum(f.thumbs_up), 0)                                   AS thumbs_up,
        coalesce(sum(f.ratings), 0)                                     AS ratings,
        coalesce(sum(f.rating_sum), 0)                                  AS rating_sum,
        count(*) FILTER (WHERE f.corrected)                             AS corrected
    FROM requests AS r
    JOIN ab_config AS c
      ON r.experiment = c.experiment AND r.ts >= c.start_ts AND r.ts < c.end_ts
    LEFT JOIN ab_feedback AS f ON f.request_id = r.request_id
    LEFT JOIN ab_quantile_hat AS q
      ON q.experiment = c.experiment AND q.variant = coalesce(r.variant, '(missing)')
    GROUP BY ALL
)
SELECT
    g.*,
    count(*) OVER (PARTITION BY g.experiment, g.user_id) AS arms,
    fw_assign_variant(g.experiment, g.user_id, c.variants, c.cum_weights) AS expected_variant
FROM grouped AS g
JOIN ab_config AS c USING (experiment);
