-- Pre-experiment covariates for CUPED: each analysed user's requests in [pre_start, start).
CREATE OR REPLACE TEMP TABLE ab_user_pre AS
SELECT
    u.experiment,
    u.user_id,
    count(*)                                                        AS requests,
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
FROM ab_user_arm AS u
JOIN ab_config AS c USING (experiment)
JOIN requests AS r
  ON r.user_id = u.user_id AND r.ts >= c.pre_start_ts AND r.ts < c.start_ts
 -- constant bounds as well, so DuckDB can skip row groups by their ts ranges
 AND r.ts >= $earliest AND r.ts < $latest_start
LEFT JOIN ab_feedback AS f ON f.request_id = r.request_id
WHERE u.arms = 1
GROUP BY ALL;
