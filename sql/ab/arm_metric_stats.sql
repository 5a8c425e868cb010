-- Per experiment, arm and ratio metric: the sufficient statistics over users (users logged in
-- one arm only) of numerator m, denominator d, and their pre-period values for CUPED.
WITH users AS (
    SELECT a.*,
           coalesce(p.requests, 0)    AS p_requests,
           coalesce(p.errors, 0)      AS p_errors,
           coalesce(p.latency_sum, 0) AS p_latency_sum,
           coalesce(p.latency_n, 0)   AS p_latency_n,
           coalesce(p.tokens_sum, 0)  AS p_tokens_sum,
           coalesce(p.tokens_n, 0)    AS p_tokens_n,
           coalesce(p.cost_sum, 0)    AS p_cost_sum,
           coalesce(p.cost_n, 0)      AS p_cost_n,
           coalesce(p.thumbs, 0)      AS p_thumbs,
           coalesce(p.thumbs_up, 0)   AS p_thumbs_up,
           coalesce(p.ratings, 0)     AS p_ratings,
           coalesce(p.rating_sum, 0)  AS p_rating_sum,
           coalesce(p.corrected, 0)   AS p_corrected
    FROM ab_user_arm AS a
    JOIN ab_user AS u USING (experiment, user_id)
    LEFT JOIN ab_user_pre AS p USING (experiment, user_id)
    WHERE u.arms = 1
),
long AS (
    SELECT u.experiment, u.variant, t.metric,
           t.m::DOUBLE AS m, t.d::DOUBLE AS d, t.mp::DOUBLE AS mp, t.dp::DOUBLE AS dp
    FROM users AS u
    CROSS JOIN LATERAL (VALUES
        ('thumbs_up_rate',     u.thumbs_up,   u.thumbs,     u.p_thumbs_up,   u.p_thumbs),
        ('mean_rating',        u.rating_sum,  u.ratings,    u.p_rating_sum,  u.p_ratings),
        ('correction_rate',    u.corrected,   u.requests,   u.p_corrected,   u.p_requests),
        ('error_rate',         u.errors,      u.requests,   u.p_errors,      u.p_requests),
        ('latency_ms',         u.latency_sum, u.latency_n,  u.p_latency_sum, u.p_latency_n),
        ('tokens_per_request', u.tokens_sum,  u.tokens_n,   u.p_tokens_sum,  u.p_tokens_n),
        ('cost_per_request',   u.cost_sum,    u.cost_n,     u.p_cost_sum,    u.p_cost_n)
    ) AS t(metric, m, d, mp, dp)
)
SELECT
    experiment, variant, metric,
    count(*)                      AS n,
    sum(m) AS m_sum,   sum(m * m)   AS m_sum_squares,
    sum(d) AS d_sum,   sum(d * d)   AS d_sum_squares,
    sum(mp) AS mp_sum, sum(mp * mp) AS mp_sum_squares,
    sum(dp) AS dp_sum, sum(dp * dp) AS dp_sum_squares,
    sum(m * d)   AS m_d,
    sum(m * mp)  AS m_mp,
    sum(m * dp)  AS m_dp,
    sum(d * mp)  AS d_mp,
    sum(d * dp)  AS d_dp,
    sum(mp * dp) AS mp_dp,
    count(*) FILTER (WHERE dp > 0) AS users_with_pre
FROM long
GROUP BY ALL
ORDER BY experiment, variant, metric;
