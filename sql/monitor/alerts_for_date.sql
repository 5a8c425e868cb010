-- The alerts of one night, most severe first (for the reports and `flywheel monitor`).
SELECT run_date, prompt_name, prompt_hash, model, kind, severity, metric, value, baseline,
       limit_low, limit_high, message
FROM monitor_alerts
WHERE run_date = $run_date
ORDER BY severity = 'critical' DESC, kind, prompt_name, prompt_hash, model, metric;
