-- Line-by-line path for feedback files (see stage_requests_lines.sql).
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
