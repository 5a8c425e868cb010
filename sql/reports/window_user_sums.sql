-- Production before and after a promotion (the windows of window_quantiles.sql): per window,
-- over its users, the sums of each ratio metric's numerator m and denominator d per user, their
-- squares and products (columns <metric>__<statistic>), and the per-user sums behind the
-- cluster-robust variance of the p95 latency ($q95_before / $q95_after: each window's p95).
WITH fb AS (
    SELECT request_id,
           count(value) FILTER (WHERE kind = 'thumbs')           AS thumbs,
           coalesce(sum(value) FILTER (WHERE kind = 'thumbs'), 0) AS thumbs_up,
           count(value) FILTER (WHERE kind = 'rating')           AS ratings,
           coalesce(sum(value) FILTER (WHERE kind = 'rating'), 0) AS rating_sum,
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
    SELECT w.grp, w.user_id,
           count(*)                                                        AS requests,
           count(*) FILTER (WHERE w.error IS NOT NULL)                     AS errors,
           coalesce(sum(w.latency_ms), 0)                                  AS latency_sum,
           count(w.latency_ms)                                             AS latency_n,
           count(*) FILTER (WHERE w.latency_ms <= CASE w.grp WHEN 'before' THEN $q95_before
                                                                ELSE $q95_after END)
                                                                           AS latency_le_q,
           coalesce(sum(w.cost_usd), 0)                                    AS cost_sum,
           count(w.cost_usd)                                               AS cost_n,
           coalesce(sum(f.thumbs), 0)                                      AS thumbs,
           coalesce(sum(f.thumbs_up), 0)                                   AS thumbs_up,
           coalesce(sum(f.ratings), 0)                                     AS ratings,
           coalesce(sum(f.rating_sum), 0)                                  AS rating_sum,
           count(*) FILTER (WHERE f.corrected)                             AS corrected
    FROM windowed AS w
    LEFT JOIN fb AS f USING (request_id)
    WHERE w.grp IS NOT NULL
    GROUP BY w.grp, w.user_id
)
SELECT
    grp,
    count(*) AS n,
    sum(thumbs_up::DOUBLE) AS thumbs_up_rate__m_sum,
    sum((thumbs_up * thumbs_up)::DOUBLE) AS thumbs_up_rate__m_sum_squares,
    sum(thumbs::DOUBLE) AS thumbs_up_rate__d_sum,
    sum((thumbs * thumbs)::DOUBLE) AS thumbs_up_rate__d_sum_squares,
    sum((thumbs_up * thumbs)::DOUBLE) AS thumbs_up_rate__m_d,
    sum(rating_sum::DOUBLE) AS mean_rating__m_sum,
    sum((rating_sum * rating_sum)::DOUBLE) AS mean_rating__m_sum_squares,
    sum(ratings::DOUBLE) AS mean_rating__d_sum,
    sum((ratings * ratings)::DOUBLE) AS mean_rating__d_sum_squares,
    sum((rating_sum * ratings)::DOUBLE) AS mean_rating__m_d,
    sum(corrected::DOUBLE) AS correction_rate__m_sum,
    sum((corrected * corrected)::DOUBLE) AS correction_rate__m_sum_squares,
    sum(requests::DOUBLE) AS correction_rate__d_sum,
    sum((requests * requests)::DOUBLE) AS correction_rate__d_sum_squares,
    sum((corrected * requests)::DOUBLE) AS correction_rate__m_d,
    sum(errors::DOUBLE) AS error_rate__m_sum,
    sum((errors * errors)::DOUBLE) AS error_rate__m_sum_squares,
    sum(requests::DOUBLE) AS error_rate__d_sum,
    sum((requests * requests)::DOUBLE) AS error_rate__d_sum_squares,
    sum((errors * requests)::DOUBLE) AS error_rate__m_d,
    sum(latency_sum::DOUBLE) AS latency_ms__m_sum,
    sum((latency_sum * latency_sum)::DOUBLE) AS latency_ms__m_sum_squares,
    sum(latency_n::DOUBLE) AS latency_ms__d_sum,
    sum((latency_n * latency_n)::DOUBLE) AS latency_ms__d_sum_squares,
    sum((latency_sum * latency_n)::DOUBLE) AS latency_ms__m_d,
    sum(cost_sum::DOUBLE) AS cost_per_request__m_sum,
    sum((cost_sum * cost_sum)::DOUBLE) AS cost_per_request__m_sum_squares,
    sum(cost_n::DOUBLE) AS cost_per_request__d_sum,
    sum((cost_n * cost_n)::DOUBLE) AS cost_per_request__d_sum_squares,
    sum((cost_sum * cost_n)::DOUBLE) AS cost_per_request__m_d,
    count(*) FILTER (WHERE latency_n > 0) AS clusters,
    sum(latency_n::DOUBLE) AS n_sum,
    sum((latency_n * latency_n)::DOUBLE) AS n_sum_squares,
    sum(latency_le_q::DOUBLE) AS s_sum,
    sum((latency_le_q * latency_le_q)::DOUBLE) AS s_sum_squares,
    sum((latency_le_q * latency_n)::DOUBLE) AS s_n
FROM per_user
GROUP BY grp
ORDER BY grp;
