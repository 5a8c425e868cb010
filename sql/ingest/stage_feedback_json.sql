-- Fast path for feedback files (see stage_requests_json.sql).
CREATE OR REPLACE TEMP TABLE stage AS
SELECT
    source_file,
    NULL::BIGINT AS line_no,
    NULL::VARCHAR AS raw,
    fw_feedback_reason(NULL, feedback_id, request_id, "timestamp", kind, value,
                       corrected_output, comment) AS reason,
    feedback_id, request_id, try_cast("timestamp" AS TIMESTAMPTZ) AS ts, kind,
    fw_feedback_value(kind, value) AS value, corrected_output, comment, user_id
FROM read_json($paths, format = 'newline_delimited', compression = 'auto', filename = 'source_file',
               maximum_object_size = 268435456,
               columns = {feedback_id: 'VARCHAR', request_id: 'VARCHAR', "timestamp": 'VARCHAR',
                          kind: 'VARCHAR', value: 'JSON', corrected_output: 'VARCHAR',
                          comment: 'VARCHAR', user_id: 'VARCHAR'});
