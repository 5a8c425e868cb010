-- A re-run of a night replaces its metrics.
DELETE FROM monitor_metrics WHERE run_date = $run_date;
