-- Line-by-line path: each line of stage_lines is parsed on its own, so one bad line is
-- quarantined with its number and the others load.
CREATE OR REPLACE TEMP TABLE stage AS
WITH parsed AS (
    SELECT * FROM fw_parsed_lines()
), typed AS (
    SELECT line_no, raw, parse_error, r.*
    FROM (
        SELECT *, json_transform(CASE WHEN is_object THEN raw END,
                   '{"request_id": "VARCHAR", "timestamp": "VARCHAR", "user_id": "VARCHAR",
                     "session_id": "VARCHAR", "experiment": "VARCHAR", "variant": "VARCHAR",
                     "prompt_name": "VARCHAR", "prompt_hash": "VARCHAR", "model": "VARCHAR",
                     "input": "JSON", "messages": "JSON", "output": "VARCHAR",
                     "latency_ms": "DOUBLE", "prompt_tokens": "BIGINT",
                     "completion_tokens": "BIGINT", "cost_usd": "DOUBLE", "error": "VARCHAR",
                     "metadata": "JSON"}') AS r
        FROM parsed
    )
), checked AS (
    SELECT *, coalesce(parse_error,
                       fw_wrong_type(raw, 'latency_ms', latency_ms, 'a number'),
                       fw_wrong_type(raw, 'prompt_tokens', prompt_tokens, 'an integer'),
                       fw_wrong_type(raw, 'completion_tokens', completion_tokens, 'an integer'),
                       fw_wrong_type(raw, 'cost_usd', cost_usd, 'a number')) AS type_error
    FROM typed
)
SELECT
    $file AS source_file, line_no, raw,
    fw_request_reason(type_error, request_id, "timestamp", user_id, model, input, messages,
                      latency_ms, prompt_tokens, completion_tokens, cost_usd, prompt_hash) AS reason,
    request_id, try_cast("timestamp" AS TIMESTAMPTZ) AS ts, user_id, session_id, experiment,
    variant, prompt_name, lower(prompt_hash) AS prompt_hash, model, input, messages, output,
    latency_ms, prompt_tokens, completion_tokens, cost_usd, error, metadata
FROM checked;
