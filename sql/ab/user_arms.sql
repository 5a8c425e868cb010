-- Per experiment, user and logged arm: the sufficient statistics of the experiment period.
CREATE OR REPLACE TEMP TABLE ab_user_arm AS
SELECT
    c.experiment,
    r.user_id,
    coalesce(r.variant, '(missing)')                                AS variant,
    count(*)                                                        AS requests,
    min(r.ts)                                                       AS first_ts,
    max(r.ts)                                                       AS last_ts,
    count(*) FILTER (WHERE r.error IS NOT NULL)                     AS errors,
    coalesce(sum(r.latency_ms), 0)                                  AS latency_sum,
    count(r.latency_ms)                                             AS latency_n,
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
GROUP BY ALL;
