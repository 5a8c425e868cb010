-- Rows still 'running' when a new nightly run takes the lock belong to a run that was killed.
UPDATE runs
SET status = 'crashed',
    error = 'the run ended without finishing this step (process killed or crashed)'
WHERE status = 'running' AND run_id <> $run_id
RETURNING run_id, run_date, step;
