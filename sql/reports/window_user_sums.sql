-- Production before and after a promotion (the windows of window_quantiles.sql): per window,
-- over its users, the sums of each ratio metric's numerator m and denominator d per user, their
-- squares and products (columns <metric>__<statistic>; the per-user and per-window sums of the
-- metrics are the text tasks/ab/_metric_sql.py generates from their declarations, checked by
-- tests/unit/test_ab_metric_sql.py), and the per-user sums behind the
-- cluster-robust variance of the p95 latency ($q95_before / $q95_after: each window's p95).
WITH fb AS (
    SELECT request_id,
           count(value) FILTER (WHERE kind = 'thumbs')           AS thumbs,
           coalesce(sum(value) FILTER (WHERE kind = 'thumbs'), 0) AS thumbs_up,
           count(value) FILTER (WHERE kind = 'rating')           AS ratings,
           coalesce(sum(try_cast(value AS DECIMAL(38, 10))) FILTER (WHERE kind = 'rating'), 0)
               AS rating_sum,  -- exact: the same in any order
           bool_or(kind = 'correction')                          AS corrected
    FROM feedback
    WHERE ts < $as_of AND ts >= $before_from
    GROUP BY request_id
), windowed AS (
    SELECT CASE WHEN v.version_hash = $before_hash AND r.ts >= $before_from AND r.ts < $split
                THEN 'before'
                WHEN v.version_hash = $after_hash AND r.ts >= $split AND r.ts < $as_of
                THEN 'after' END AS grp,
           r.*
    FROM requests AS r
    JOIN request_prompt_versions AS v USING (request_id)
    WHERE r.ts >= $before_from AND r.ts < $as_of
      AND (v.version_hash = $before_hash OR v.version_hash = $after_hash)
), per_user AS (
    SELECT r.grp, r.user_id,
           count(*) FILTER (WHERE r.latency_ms <= CASE r.grp WHEN 'before' THEN $q95_before
                                                                ELSE $q95_after END)
                                                                           AS latency_le_q,
           coalesce(sum(f.thumbs_up), 0) AS thumbs_up,
           coalesce(sum(f.thumbs), 0) AS thumbs,
           coalesce(sum(f.rating_sum), 0) AS rating_sum,
           coalesce(sum(f.ratings), 0) AS ratings,
           count(*) FILTER (WHERE f.corrected) AS corrected,
           count(*) AS requests,
           count(*) FILTER (WHERE r.error IS NOT NULL) AS errors,
           coalesce(sum(try_cast(r.latency_ms AS DECIMAL(38, 10))), 0) AS latency_sum,
           count(try_cast(r.latency_ms AS DECIMAL(38, 10))) AS latency_n,
           coalesce(sum(try_cast(r.cost_usd AS DECIMAL(38, 10))), 0) AS cost_sum,
           count(try_cast(r.cost_usd AS DECIMAL(38, 10))) AS cost_n
    FROM windowed AS r
    LEFT JOIN fb AS f USING (request_id)
    WHERE r.grp IS NOT NULL
    GROUP BY r.grp, r.user_id
)
SELECT
    grp,
    count(*) AS n,
    sum(u.thumbs_up)::DOUBLE AS thumbs_up_rate__m_sum,
    sum((u.thumbs_up * u.thumbs_up)::DOUBLE) AS thumbs_up_rate__m_sum_squares,
    sum(u.thumbs)::DOUBLE AS thumbs_up_rate__d_sum,
    sum((u.thumbs * u.thumbs)::DOUBLE) AS thumbs_up_rate__d_sum_squares,
    sum((u.thumbs_up * u.thumbs)::DOUBLE) AS thumbs_up_rate__m_d,
    sum(u.rating_sum)::DOUBLE AS mean_rating__m_sum,
    sum((u.rating_sum::DOUBLE * u.rating_sum::DOUBLE)::DOUBLE ORDER BY u.user_id) AS mean_rating__m_sum_squares,
    sum(u.ratings)::DOUBLE AS mean_rating__d_sum,
    sum((u.ratings * u.ratings)::DOUBLE) AS mean_rating__d_sum_squares,
    sum((u.rating_sum::DOUBLE * u.ratings)::DOUBLE ORDER BY u.user_id) AS mean_rating__m_d,
    sum(u.corrected)::DOUBLE AS correction_rate__m_sum,
    sum((u.corrected * u.corrected)::DOUBLE) AS correction_rate__m_sum_squares,
    sum(u.requests)::DOUBLE AS correction_rate__d_sum,
    sum((u.requests * u.requests)::DOUBLE) AS correction_rate__d_sum_squares,
    sum((u.corrected * u.requests)::DOUBLE) AS correction_rate__m_d,
    sum(u.errors)::DOUBLE AS error_rate__m_sum,
    sum((u.errors * u.errors)::DOUBLE) AS error_rate__m_sum_squares,
    sum(u.requests)::DOUBLE AS error_rate__d_sum,
    sum((u.requests * u.requests)::DOUBLE) AS error_rate__d_sum_squares,
    sum((u.errors * u.requests)::DOUBLE) AS error_rate__m_d,
    sum(u.latency_sum)::DOUBLE AS latency_ms__m_sum,
    sum((u.latency_sum::DOUBLE * u.latency_sum::DOUBLE)::DOUBLE ORDER BY u.user_id) AS latency_ms__m_sum_squares,
    sum(u.latency_n)::DOUBLE AS latency_ms__d_sum,
    sum((u.latency_n * u.latency_n)::DOUBLE) AS latency_ms__d_sum_squares,
    sum((u.latency_sum::DOUBLE * u.latency_n)::DOUBLE ORDER BY u.user_id) AS latency_ms__m_d,
    sum(u.cost_sum)::DOUBLE AS cost_per_request__m_sum,
    sum((u.cost_sum::DOUBLE * u.cost_sum::DOUBLE)::DOUBLE ORDER BY u.user_id) AS cost_per_request__m_sum_squares,
    sum(u.cost_n)::DOUBLE AS cost_per_request__d_sum,
    sum((u.cost_n * u.cost_n)::DOUBLE) AS cost_per_request__d_sum_squares,
    sum((u.cost_sum::DOUBLE * u.cost_n)::DOUBLE ORDER BY u.user_id) AS cost_per_request__m_d,
    count(*) FILTER (WHERE u.latency_n > 0) AS clusters,
    sum(u.latency_n::DOUBLE) AS n_sum,
    sum((u.latency_n * u.latency_n)::DOUBLE) AS n_sum_squares,
    sum(u.latency_le_q::DOUBLE) AS s_sum,
    sum((u.latency_le_q * u.latency_le_q)::DOUBLE) AS s_sum_squares,
    sum((u.latency_le_q * u.latency_n)::DOUBLE) AS s_n
FROM per_user AS u
GROUP BY grp
ORDER BY grp;
