-- The A/B temp tables need no particular row order: let DuckDB build them in parallel freely.
SET preserve_insertion_order = false;
