-- Calls, errors, tokens, cost and latency per prompt version of a run.
SELECT prompt_hash,
       count(*) AS results,
       count(*) FILTER (WHERE error_kind = 'api') AS api_errors,
       count(*) FILTER (WHERE error_kind IN ('scorer', 'judge')) AS scorer_errors,
       count(*) FILTER (WHERE cached) AS cached,
       coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
       coalesce(sum(completion_tokens), 0) AS completion_tokens,
       coalesce(sum(judge_prompt_tokens), 0) AS judge_prompt_tokens,
       coalesce(sum(judge_completion_tokens), 0) AS judge_completion_tokens,
       sum(cost_usd) AS cost_usd,
       count(*) FILTER (WHERE cost_usd IS NULL AND error IS NULL) AS unpriced,
       avg(latency_ms) FILTER (WHERE NOT cached) AS mean_latency_ms,
       quantile_cont(latency_ms, 0.95) FILTER (WHERE NOT cached) AS p95_latency_ms,
       bool_or(system_fingerprint = 'flywheel-demo' OR response_model = 'flywheel-demo-model')
           AS demo_model
FROM eval_results
WHERE run_id = $run_id
GROUP BY prompt_hash;
