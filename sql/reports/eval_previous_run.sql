-- The run of the same eval set (by name) made just before $run_id: what `flywheel eval diff`
-- compares it with.
SELECT p.run_id
FROM eval_runs AS p, eval_runs AS r
WHERE r.run_id = $run_id AND p.evalset_name = r.evalset_name AND p.run_id <> r.run_id
  AND (p.started_at, p.run_id) < (r.started_at, r.run_id)
ORDER BY p.started_at DESC, p.run_id DESC
LIMIT 1;
