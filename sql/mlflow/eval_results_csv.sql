-- Per-case results of an eval run, as the CSV artifact ($prompt_hash NULL: every version).
SELECT prompt_hash, case_id, repeat_index, array_to_string(tags, ';') AS tags, passed, score,
       error, error_kind, latency_ms, prompt_tokens, completion_tokens, judge_prompt_tokens,
       judge_completion_tokens, cost_usd, cached, attempts, response_model, output,
       assertions::VARCHAR AS assertions
FROM eval_results
WHERE run_id = $run_id AND ($prompt_hash IS NULL OR prompt_hash = $prompt_hash)
ORDER BY prompt_hash, case_id, repeat_index;
