-- Every run of one date, newest run first, its steps in the order they started.
SELECT run_id, run_date, step, status, started_at, finished_at, seconds, details, error
FROM runs
WHERE run_date = $run_date
ORDER BY max(started_at) OVER (PARTITION BY run_id) DESC, run_id, started_at, step;
