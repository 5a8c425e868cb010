-- The steps of the night's latest nightly run, from the nightly flow's runs table (without the
-- whole night and the report step itself, which are still running when the report is made), by
-- name: steps that run at the same time start in any order, and a re-run's report must not differ.
WITH latest AS (
    SELECT run_id
    FROM runs
    WHERE run_date = $run_date AND step = 'nightly'
    ORDER BY started_at DESC, run_id DESC
    LIMIT 1
)
SELECT step, status, error
FROM runs
WHERE run_id = (SELECT run_id FROM latest) AND step NOT IN ('nightly', 'report')
ORDER BY step;
