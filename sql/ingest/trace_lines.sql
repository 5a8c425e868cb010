-- The JSON documents of a trace export with their line numbers: the whole file when it is one
-- JSON document (line 1; it may be pretty-printed), else each non-blank line (JSON Lines).
CREATE OR REPLACE TEMP TABLE trace_lines AS
WITH doc AS (SELECT content, json_valid(content) AS whole FROM read_text($path))
SELECT 1::BIGINT AS line_no, content AS raw FROM doc WHERE whole
UNION ALL
SELECT line_no, raw
FROM (
    SELECT generate_subscripts(lines, 1)::BIGINT AS line_no, unnest(lines) AS raw
    FROM (SELECT string_split(content, chr(10)) AS lines FROM doc WHERE NOT whole)
)
WHERE trim(raw, chr(32) || chr(9) || chr(13)) <> '';
