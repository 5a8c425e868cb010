-- Ramp decisions, newest first; each filter applies when given (NULL: all).
SELECT h.*, r.stages, r.status AS rollout_status, r.prompt_name, r.label, r.from_hash, r.to_hash
FROM rollout_history AS h
JOIN rollouts AS r USING (rollout_id)
WHERE ($subject::VARCHAR IS NULL OR h.subject = $subject)
  AND ($run_date::DATE IS NULL OR h.run_date = $run_date)
  AND ($rollout_id::BIGINT IS NULL OR h.rollout_id = $rollout_id)
ORDER BY h.event_id DESC;
