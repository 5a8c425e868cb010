-- The offline evals of $candidate against $production, one per eval-set version: the first
-- complete run (no API errors), a real model's before the demo model's. Re-running an eval is
-- answered from the cache, so later runs of the same pair add nothing and the choice is stable.
SELECT run_id, evalset_name, evalset_hash, evalset_path, demo_model, repeats, judge_model,
       summary
FROM eval_runs
WHERE baseline_hash = $production
  AND list_contains(json_extract_string(versions, '$[*].hash'), $candidate)
  AND summary IS NOT NULL
QUALIFY row_number() OVER (
    PARTITION BY evalset_hash
    ORDER BY demo_model,
             coalesce(json_extract(summary, '$.errors.api')::BIGINT, 0) > 0,
             started_at, run_id) = 1
ORDER BY evalset_name, evalset_hash;
