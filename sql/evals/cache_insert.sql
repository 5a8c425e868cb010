-- Store successful responses staged in the registered view eval_cache_stage (a fresh answer,
-- from a --no-cache run, replaces the old one).
INSERT OR REPLACE INTO eval_cache
SELECT cache_key, base_url, model, output, finish_reason, response_model, system_fingerprint,
       prompt_tokens, completion_tokens, latency_ms, $now
FROM eval_cache_stage;
