-- Move a ramp to a stage/status; compare-and-set on the stage and status it was read at.
UPDATE rollouts
SET stage = $stage, status = $status, stage_started_at = $stage_started_at,
    last_decided_date = $run_date, updated_at = $now
WHERE rollout_id = $rollout_id AND stage = $from_stage AND status = $from_status
RETURNING rollout_id;
