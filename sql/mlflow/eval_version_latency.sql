-- Latency quantiles per prompt version of an eval run (cached results carry the latency of the
-- call that produced them, so a cached re-run reports the same figures).
SELECT prompt_hash,
       quantile_cont(latency_ms, 0.5) AS latency_p50_ms,
       quantile_cont(latency_ms, 0.95) AS latency_p95_ms
FROM eval_results
WHERE run_id = $run_id AND latency_ms IS NOT NULL
GROUP BY prompt_hash;
