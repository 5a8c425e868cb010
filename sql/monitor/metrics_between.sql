-- The monitored metrics of the nights from $first to $last (trends for the reports).
SELECT * FROM monitor_metrics
WHERE run_date BETWEEN $first AND $last
ORDER BY run_date, prompt_name, prompt_hash, model;
