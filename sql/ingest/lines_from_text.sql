-- Every line of an uncompressed text file with its 1-based line number (CRLF tolerated).
-- The trims are guarded by cheap tests: trimming every long line costs more than reading it.
CREATE OR REPLACE TEMP TABLE stage_lines AS
SELECT line_no, CASE WHEN ends_with(raw, chr(13)) THEN left(raw, -1) ELSE raw END AS raw
FROM (
    SELECT generate_subscripts(lines, 1) AS line_no, unnest(lines) AS raw
    FROM (SELECT string_split(content, chr(10)) AS lines FROM read_text($path))
);
