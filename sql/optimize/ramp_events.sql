-- The ramps of $subject that started, completed or were rolled back, by the night that did it.
SELECT h.rollout_id, h.action, h.run_date, h.reason, h.decided_by, r.to_hash, r.created_at
FROM rollout_history AS h JOIN rollouts AS r USING (rollout_id)
WHERE h.subject = $subject AND h.action IN ('start', 'complete', 'rollback')
ORDER BY h.event_id;
