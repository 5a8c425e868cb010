-- Line-by-line path: each line of stage_lines is parsed on its own, so one bad line is
-- quarantined with its number and the others load.
CREATE OR REPLACE TEMP TABLE stage AS
WITH kinds AS (
    SELECT line_no, raw, try(json_type(raw)) AS json_kind
    FROM stage_lines
    -- Blank lines (JSON whitespace only) are not records; only lines starting blank are trimmed.
    WHERE CASE WHEN raw = '' THEN false
               WHEN left(raw, 1) IN (' ', chr(9)) THEN trim(raw, chr(32) || chr(9)) <> ''
               ELSE true END
), parsed AS (
    SELECT line_no, raw, coalesce(json_kind = 'OBJECT', false) AS is_object,
           CASE WHEN json_kind IS NULL THEN 'not valid JSON'
                WHEN json_kind <> 'OBJECT' THEN 'not a JSON object (got ' || lower(json_kind) || ')'
           END AS parse_error
    FROM kinds
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
