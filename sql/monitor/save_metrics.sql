-- Persist the night's metrics (the baseline nights are recomputed each night, not read back).
INSERT INTO monitor_metrics BY NAME
SELECT * FROM monitor_window_metrics WHERE run_date = $run_date;
