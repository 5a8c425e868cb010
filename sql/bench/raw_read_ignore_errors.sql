-- The baseline for files with malformed lines: the reader skipping what it cannot parse.
CREATE TABLE t AS SELECT * FROM read_json($paths, ignore_errors = true);
