-- Write (or replace) one step's row of a nightly run.
INSERT OR REPLACE INTO runs (run_id, run_date, step, status, started_at, finished_at, seconds, details, error)
VALUES ($run_id, $run_date, $step, $status, $started_at, $finished_at, $seconds, $details, $error);
