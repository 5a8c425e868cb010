-- Tonight's value of every monitored metric beside its trailing baseline: the mean and sample
-- standard deviation (n-1) of the baseline nights' values, and the value pooled over all their
-- observations. A night's value counts when at least $min_count observations stand behind it,
-- and a tail quantile when at least 10 observations lie beyond it ($min_count_p95, _p99); volume
-- tonight always counts, so a collapse of traffic is seen.
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
    SELECT prompt_name, prompt_hash, model, metric, count(*) AS nights, avg(value) AS mean,
           coalesce(stddev_samp(value), 0) AS sd,
           sum(n) AS base_n, sum(value * n) / nullif(sum(n), 0) AS pooled
    FROM usable
    WHERE run_date < $run_date
    GROUP BY prompt_name, prompt_hash, model, metric
)
SELECT t.prompt_name, t.prompt_hash, t.model, t.metric, t.value, t.n, b.nights, b.mean, b.sd,
       b.base_n, b.pooled
FROM tonight t
JOIN base b
  ON t.prompt_name IS NOT DISTINCT FROM b.prompt_name
 AND t.prompt_hash IS NOT DISTINCT FROM b.prompt_hash
 AND t.model = b.model AND t.metric = b.metric
WHERE b.nights >= $min_nights
ORDER BY t.prompt_name, t.prompt_hash, t.model, t.metric;
