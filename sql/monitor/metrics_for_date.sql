-- The monitored metrics of one night, per prompt version.
SELECT * FROM monitor_metrics
WHERE run_date = $run_date
ORDER BY prompt_name, prompt_hash, model;
