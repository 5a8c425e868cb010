SELECT * FROM eval_runs ORDER BY started_at;
