-- Persist the night's metrics (later nights read them back as their baseline).
INSERT INTO monitor_metrics BY NAME
SELECT * FROM monitor_window_metrics WHERE run_date = $run_date;
