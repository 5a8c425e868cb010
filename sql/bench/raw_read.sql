-- The baseline: DuckDB's own JSON reader with auto-detection, nothing else.
CREATE TABLE t AS SELECT * FROM read_json($paths);
