-- One alert of the night.
INSERT INTO monitor_alerts (run_date, prompt_name, prompt_hash, model, kind, severity, metric,
                            value, baseline, limit_low, limit_high, message)
VALUES ($run_date, $prompt_name, $prompt_hash, $model, $kind, $severity, $metric,
        $value, $baseline, $limit_low, $limit_high, $message);
