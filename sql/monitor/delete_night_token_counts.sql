-- A re-run of a night replaces its token counts.
DELETE FROM monitor_token_counts WHERE run_date = $run_date;
