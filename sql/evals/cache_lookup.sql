-- Cached responses for a list of cache keys ($keys: VARCHAR[]).
SELECT cache_key, output, finish_reason, response_model, system_fingerprint,
       prompt_tokens, completion_tokens, latency_ms
FROM eval_cache
WHERE cache_key IN (SELECT unnest($keys::VARCHAR[]));
