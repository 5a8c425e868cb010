-- Production-volume benchmark: the sample project's in-experiment requests as templates
-- (content, arm), numbered within each (experiment, variant); $requests: the sample's
-- JSONL files.
CREATE OR REPLACE TABLE vol_templates AS
SELECT r.*, row_number() OVER (PARTITION BY experiment, variant ORDER BY request_id) - 1 AS k,
       count(*) OVER (PARTITION BY experiment, variant) AS n_arm
FROM read_json($requests, columns = {
    request_id: 'VARCHAR', "timestamp": 'TIMESTAMPTZ', experiment: 'VARCHAR',
    variant: 'VARCHAR', prompt_name: 'VARCHAR', prompt_hash: 'VARCHAR', model: 'VARCHAR',
    input: 'JSON', messages: 'JSON', output: 'VARCHAR', latency_ms: 'DOUBLE',
    prompt_tokens: 'BIGINT', completion_tokens: 'BIGINT', cost_usd: 'DOUBLE',
    error: 'VARCHAR', metadata: 'JSON'}) AS r
WHERE r.experiment IS NOT NULL;
