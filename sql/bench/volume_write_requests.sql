-- Production-volume benchmark: the day's requests as native JSONL at $path.
COPY (
    SELECT request_id, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS "timestamp",
           user_id, session_id, experiment, variant, prompt_name, prompt_hash, model, input,
           messages, output, latency_ms, prompt_tokens, completion_tokens, cost_usd, error, metadata
    FROM vol_day ORDER BY ts
) TO $path (FORMAT json);
