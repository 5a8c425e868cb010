-- Line-by-line path for feedback files (see stage_requests_lines.sql).
CREATE OR REPLACE TEMP TABLE stage AS
WITH parsed AS (
    SELECT * FROM fw_parsed_lines()
), typed AS (
    SELECT line_no, raw, parse_error, r.*
    FROM (
        SELECT *, json_transform(CASE WHEN is_object THEN raw END,
                   '{"feedback_id": "VARCHAR", "request_id": "VARCHAR", "timestamp": "VARCHAR",
                     "kind": "VARCHAR", "value": "JSON", "corrected_output": "VARCHAR",
                     "comment": "VARCHAR", "user_id": "VARCHAR"}') AS r
        FROM parsed
    )
)
SELECT
    $file AS source_file, line_no, raw,
    fw_feedback_reason(parse_error, feedback_id, request_id, "timestamp", kind, value,
                       corrected_output, comment) AS reason,
    feedback_id, request_id, try_cast("timestamp" AS TIMESTAMPTZ) AS ts, kind,
    fw_feedback_value(kind, value) AS value, corrected_output, comment, user_id
FROM typed;
