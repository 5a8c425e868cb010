-- The night's rows of the window metrics (what save_metrics persists).
SELECT * FROM monitor_window_metrics WHERE run_date = $run_date ORDER BY prompt_name, prompt_hash, model;
