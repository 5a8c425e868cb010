-- Line-by-line path: each line of stage_lines is parsed on its own, so one bad line is
-- quarantined with its number and the others load.
CREATE OR REPLACE TEMP TABLE stage AS
WITH kinds AS (
    SELECT line_no, raw, CASE WHEN json_valid(raw) THEN json_type(raw) END AS json_kind
    FROM stage_lines
    WHERE trim(raw) <> ''
), parsed AS (
    SELECT line_no, raw, coalesce(json_kind = 'OBJECT', false) AS is_object,
           CASE WHEN json_kind IS NULL THEN 'not valid JSON'
                WHEN json_kind <> 'OBJECT' THEN 'not a JSON object (got ' || lower(json_kind) || ')'
           END AS parse_error
    FROM kinds
), typed AS (
    SELECT line_no, raw, parse_error, j, r.*
    FROM (
        SELECT *, CASE WHEN is_object THEN raw::JSON END AS j,
               json_transform(CASE WHEN is_object THEN raw END,
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
                       fw_wrong_type(j, 'latency_ms', latency_ms, 'a number'),
                       fw_wrong_type(j, 'prompt_tokens', prompt_tokens, 'an integer'),
                       fw_wrong_type(j, 'completion_tokens', completion_tokens, 'an integer'),
                       fw_wrong_type(j, 'cost_usd', cost_usd, 'a number')) AS type_error
    FROM typed
)
SELECT
    line_no, raw,
    fw_request_reason(type_error, request_id, "timestamp", user_id, model, input, messages,
                      latency_ms, prompt_tokens, completion_tokens, cost_usd, prompt_hash) AS reason,
    request_id, try_cast("timestamp" AS TIMESTAMPTZ) AS ts, user_id, session_id, experiment,
    variant, prompt_name, lower(prompt_hash) AS prompt_hash, model, input, messages, output,
    latency_ms, prompt_tokens, completion_tokens, cost_usd, error, metadata
FROM checked
ORDER BY line_no;
