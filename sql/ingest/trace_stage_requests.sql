-- The request records of one trace file → `stage`, checked by the same rules as native files
-- (fw_request_reason); a reason is prefixed with the span/observation it is about.
CREATE OR REPLACE TEMP TABLE stage AS
WITH typed AS (
    SELECT line_no, raw, label, reason AS pre_reason, r.*
    FROM (
        SELECT *, json_transform(record,
                   '{"request_id": "VARCHAR", "timestamp": "VARCHAR", "user_id": "VARCHAR",
                     "session_id": "VARCHAR", "experiment": "VARCHAR", "variant": "VARCHAR",
                     "prompt_name": "VARCHAR", "prompt_hash": "VARCHAR", "model": "VARCHAR",
                     "input": "JSON", "messages": "JSON", "output": "VARCHAR",
                     "latency_ms": "DOUBLE", "prompt_tokens": "BIGINT",
                     "completion_tokens": "BIGINT", "cost_usd": "DOUBLE", "error": "VARCHAR",
                     "metadata": "JSON"}') AS r
        FROM trace_records
        WHERE record_kind = 'requests'
    )
), checked AS (
    SELECT *, fw_request_reason(pre_reason, request_id, "timestamp", user_id, model, input, messages,
                                latency_ms, prompt_tokens, completion_tokens, cost_usd, prompt_hash) AS why
    FROM typed
)
SELECT
    $file AS source_file, line_no,
    CASE WHEN why IS NOT NULL THEN raw END AS raw,  -- kept only to be quarantined
    CASE WHEN why IS NOT NULL THEN coalesce(label || ': ', '') || why END AS reason,
    request_id, try_cast("timestamp" AS TIMESTAMPTZ) AS ts, user_id, session_id, experiment,
    variant, prompt_name, lower(prompt_hash) AS prompt_hash, model, input, messages, output,
    latency_ms, prompt_tokens, completion_tokens, cost_usd, error, metadata
FROM checked;
