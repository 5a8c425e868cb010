-- The newest eval run that compared $candidate with $production as its baseline.
SELECT run_id, summary, finished_at
FROM eval_runs
WHERE baseline_hash = $production
  AND list_contains(CAST(json_extract_string(versions, '$[*].hash') AS VARCHAR[]), $candidate)
ORDER BY finished_at DESC, run_id DESC
LIMIT 1;
