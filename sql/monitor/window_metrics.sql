-- Per night and prompt version (prompt name, hash, model) of the window: the monitored metrics.
-- Sums of non-integer doubles are ordered (ORDER BY in the aggregate) so that a re-run gives the
-- same bits whatever the thread schedule (floating-point addition is not associative).
-- Latency is over successful requests (failures are counted by error_rate; a timeout's latency
-- is the client's limit, not the model's speed). The nights in $stored are their stored rows.
CREATE OR REPLACE TEMP TABLE monitor_window_metrics AS
SELECT * FROM monitor_metrics WHERE list_contains(CAST($stored AS DATE[]), run_date)
UNION ALL BY NAME
SELECT night AS run_date, prompt_name, prompt_hash, bool_and(hash_known) AS hash_known, model,
       count(*) AS requests,
       count(*) FILTER (WHERE error IS NOT NULL) AS errors,
       count(*) FILTER (WHERE error IS NOT NULL) / count(*) AS error_rate,
       count(latency_ms) FILTER (WHERE error IS NULL) AS latency_n,
       quantile_cont(latency_ms, 0.50) FILTER (WHERE error IS NULL) AS latency_p50_ms,
       quantile_cont(latency_ms, 0.95) FILTER (WHERE error IS NULL) AS latency_p95_ms,
       quantile_cont(latency_ms, 0.99) FILTER (WHERE error IS NULL) AS latency_p99_ms,
       count(prompt_tokens + completion_tokens) AS tokens_n,
       avg(prompt_tokens + completion_tokens) AS tokens_per_request,
       count(cost_usd) AS cost_n,
       avg(cost_usd ORDER BY request_id) AS cost_per_request,
       sum(thumbs_n) AS thumbs_given,
       CAST(sum(thumbs_up) AS BIGINT) AS thumbs_up,
       sum(thumbs_up) / nullif(sum(thumbs_n), 0) AS thumbs_up_rate,
       sum(rating_n) AS ratings,
       sum(rating_sum) / nullif(sum(rating_n), 0) AS mean_rating,
       count(*) FILTER (WHERE corrected) AS corrected_requests,
       count(*) FILTER (WHERE corrected) / count(*) AS correction_rate,
       avg(prompt_tokens) AS input_tokens_mean,
       avg(completion_tokens) FILTER (WHERE error IS NULL) AS output_tokens_mean
FROM monitor_window
GROUP BY night, prompt_name, prompt_hash, model;
