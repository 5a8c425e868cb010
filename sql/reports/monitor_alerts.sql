-- Monitoring alerts about one prompt over the nights $since..$run_date.
SELECT run_date, prompt_hash, model, kind, severity, metric, value, baseline, limit_low,
       limit_high, message
FROM monitor_alerts
WHERE prompt_name = $prompt AND run_date >= $since AND run_date <= $run_date
ORDER BY run_date DESC, severity, metric, kind, message;
