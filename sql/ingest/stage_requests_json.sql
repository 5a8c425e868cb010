-- Fast path: DuckDB's JSON reader with an explicit schema, over a batch of files at once. Fails as a whole on a line that is
-- not JSON or has a value of the wrong type; the caller then takes the line-by-line path.
CREATE OR REPLACE TEMP TABLE stage AS
SELECT
    source_file,
    NULL::BIGINT AS line_no,
    NULL::VARCHAR AS raw,
    fw_request_reason(NULL, request_id, "timestamp", user_id, model, input, messages,
                      latency_ms, prompt_tokens, completion_tokens, cost_usd, prompt_hash) AS reason,
    request_id, try_cast("timestamp" AS TIMESTAMPTZ) AS ts, user_id, session_id, experiment,
    variant, prompt_name, lower(prompt_hash) AS prompt_hash, model, input, messages, output,
    latency_ms, prompt_tokens, completion_tokens, cost_usd, error, metadata
FROM read_json($paths, format = 'newline_delimited', compression = 'auto', filename = 'source_file',
               maximum_object_size = 268435456,
               columns = {request_id: 'VARCHAR', "timestamp": 'VARCHAR', user_id: 'VARCHAR',
                          session_id: 'VARCHAR', experiment: 'VARCHAR', variant: 'VARCHAR',
                          prompt_name: 'VARCHAR', prompt_hash: 'VARCHAR', model: 'VARCHAR',
                          input: 'JSON', messages: 'JSON', output: 'VARCHAR',
                          latency_ms: 'DOUBLE', prompt_tokens: 'BIGINT',
                          completion_tokens: 'BIGINT', cost_usd: 'DOUBLE', error: 'VARCHAR',
                          metadata: 'JSON'});
