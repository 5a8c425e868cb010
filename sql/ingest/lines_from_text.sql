-- Every line of an uncompressed text file with its 1-based line number.
CREATE OR REPLACE TEMP TABLE stage_lines AS
SELECT generate_subscripts(lines, 1) AS line_no, rtrim(unnest(lines), chr(13)) AS raw
FROM (SELECT string_split(content, chr(10)) AS lines FROM read_text($path));
