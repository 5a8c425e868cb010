-- The ramp decisions on one version's promotion ramps (tasks/serving's rollout_history) up to
-- $until, oldest first.
SELECT h.rollout_id, h.action, h.run_date, h.to_fraction, h.decided_by, h.reason
FROM rollout_history AS h JOIN rollouts AS r USING (rollout_id)
WHERE r.to_hash = $hash AND h.decided_at <= $until
ORDER BY h.event_id;
