-- A re-run of a night replaces its alerts.
DELETE FROM monitor_alerts WHERE run_date = $run_date;
