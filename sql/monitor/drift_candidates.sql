-- Tonight's value of every monitored metric beside its trailing baseline: the mean and sample
-- standard deviation (n-1) of the baseline nights' values, the value pooled over all their
-- observations, and what tonight's own observations say against the baseline's centre.
-- A night's value counts when at least $min_count observations stand behind it, and a tail
-- quantile when at least 10 observations lie beyond it ($min_count_p95, _p99); the volume
-- tonight always counts, so a collapse of traffic is seen. Floating-point aggregates are
-- ordered, so a re-run gives the same bits.
WITH long AS (
    SELECT run_date, prompt_name, prompt_hash, model, 'requests' AS metric, CAST(requests AS DOUBLE) AS value, requests AS n FROM monitor_window_metrics
    UNION ALL SELECT run_date, prompt_name, prompt_hash, model, 'error_rate', error_rate, requests FROM monitor_window_metrics
    UNION ALL SELECT run_date, prompt_name, prompt_hash, model, 'latency_p50_ms', latency_p50_ms, latency_n FROM monitor_window_metrics
    UNION ALL SELECT run_date, prompt_name, prompt_hash, model, 'latency_p95_ms', latency_p95_ms, latency_n FROM monitor_window_metrics
    UNION ALL SELECT run_date, prompt_name, prompt_hash, model, 'latency_p99_ms', latency_p99_ms, latency_n FROM monitor_window_metrics
    UNION ALL SELECT run_date, prompt_name, prompt_hash, model, 'tokens_per_request', tokens_per_request, tokens_n FROM monitor_window_metrics
    UNION ALL SELECT run_date, prompt_name, prompt_hash, model, 'cost_per_request', cost_per_request, cost_n FROM monitor_window_metrics
    UNION ALL SELECT run_date, prompt_name, prompt_hash, model, 'thumbs_up_rate', thumbs_up_rate, thumbs_given FROM monitor_window_metrics
    UNION ALL SELECT run_date, prompt_name, prompt_hash, model, 'mean_rating', mean_rating, ratings FROM monitor_window_metrics
    UNION ALL SELECT run_date, prompt_name, prompt_hash, model, 'correction_rate', correction_rate, requests FROM monitor_window_metrics
),
usable AS (
    SELECT * FROM long
    WHERE value IS NOT NULL
      AND (n >= CASE metric WHEN 'latency_p95_ms' THEN $min_count_p95
                            WHEN 'latency_p99_ms' THEN $min_count_p99
                            ELSE $min_count END
           OR (metric = 'requests' AND run_date = $run_date))
),
tonight AS (SELECT * FROM usable WHERE run_date = $run_date),
base AS (
    SELECT prompt_name, prompt_hash, model, metric, count(*) AS nights,
           avg(value ORDER BY run_date) AS mean,
           coalesce(stddev_samp(value ORDER BY run_date), 0) AS sd,
           sum(n) AS base_n, sum(value * n ORDER BY run_date) / nullif(sum(n), 0) AS pooled
    FROM usable
    WHERE run_date < $run_date
    GROUP BY prompt_name, prompt_hash, model, metric
),
candidates AS (
    SELECT t.prompt_name, t.prompt_hash, t.model, t.metric, t.value, t.n, b.nights, b.mean, b.sd,
           b.base_n, b.pooled
    FROM tonight t
    JOIN base b
      ON t.prompt_name IS NOT DISTINCT FROM b.prompt_name
     AND t.prompt_hash IS NOT DISTINCT FROM b.prompt_hash
     AND t.model = b.model AND t.metric = b.metric
    WHERE b.nights >= $min_nights
),
-- Tonight's observations behind a quantile or a mean, against the baseline's centre: how many
-- fall below it (quantile tests) and their standard deviation (mean tests).
evidence AS (
    SELECT prompt_name, prompt_hash, model, metric,
           count(x) AS n_obs,
           count(x) FILTER (WHERE x < mean) AS n_below,
           count(x) FILTER (WHERE x <= mean) AS n_at_or_below,
           stddev_samp(x ORDER BY x) AS sd_tonight
    FROM (
        SELECT c.prompt_name, c.prompt_hash, c.model, c.metric, c.mean,
               CASE WHEN c.metric LIKE 'latency_%' THEN CASE WHEN w.error IS NULL THEN w.latency_ms END
                    WHEN c.metric = 'tokens_per_request' THEN CAST(w.prompt_tokens + w.completion_tokens AS DOUBLE)
                    WHEN c.metric = 'cost_per_request' THEN w.cost_usd
                    WHEN c.metric = 'mean_rating' THEN w.rating_sum / nullif(w.rating_n, 0)
               END AS x
        FROM candidates c
        JOIN monitor_window w
          ON w.night = $run_date
         AND w.prompt_name IS NOT DISTINCT FROM c.prompt_name
         AND w.prompt_hash IS NOT DISTINCT FROM c.prompt_hash
         AND w.model = c.model
        WHERE c.metric IN ('latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms',
                           'tokens_per_request', 'cost_per_request', 'mean_rating')
    )
    GROUP BY prompt_name, prompt_hash, model, metric
)
SELECT c.*, e.n_obs, e.n_below, e.n_at_or_below, e.sd_tonight
FROM candidates c
LEFT JOIN evidence e
  ON c.prompt_name IS NOT DISTINCT FROM e.prompt_name
 AND c.prompt_hash IS NOT DISTINCT FROM e.prompt_hash
 AND c.model = e.model AND c.metric = e.metric
ORDER BY c.prompt_name, c.prompt_hash, c.model, c.metric;
