-- The newest run of each date in [$first, $last]: one row per step, for the index report.
WITH newest AS (
    SELECT run_date, arg_max(run_id, started_at) AS run_id
    FROM runs
    WHERE step = 'nightly' AND run_date BETWEEN $first AND $last
    GROUP BY run_date
)
SELECT r.run_id, r.run_date, r.step, r.status, r.started_at, r.finished_at, r.seconds, r.details, r.error
FROM runs r JOIN newest n USING (run_id)
ORDER BY r.run_date DESC, r.started_at, r.step;
