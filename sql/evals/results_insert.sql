-- The per-(version, case, repeat) results of a run, staged in the registered view eval_results_stage.
INSERT INTO eval_results
SELECT run_id, prompt_hash, case_id, repeat_index, tags, output, passed, score,
       assertions::JSON, error, error_kind, latency_ms, prompt_tokens, completion_tokens,
       judge_prompt_tokens, judge_completion_tokens, cost_usd, cached, attempts,
       response_model, system_fingerprint
FROM eval_results_stage;
