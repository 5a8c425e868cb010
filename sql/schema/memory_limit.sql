-- DuckDB's memory limit for the open database (a size: '1GB', '512MB').
SET memory_limit = $limit;
