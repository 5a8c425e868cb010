-- Every connection flywheel opens: times in UTC, and no progress bar (DuckDB draws it on
-- standard output for a query over two seconds, which would land inside a command's --json
-- output: a migration rebuilding a large table, an A/B analysis of millions of requests).
SET TimeZone = 'UTC';
SET enable_progress_bar = false;
