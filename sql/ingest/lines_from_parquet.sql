-- Parquet rows as JSON lines, so that they are validated by exactly the same rules.
CREATE OR REPLACE TEMP TABLE stage_lines AS
SELECT file_row_number + 1 AS line_no, to_json(p)::VARCHAR AS raw
FROM read_parquet($path, file_row_number = true) AS p;
