-- The newest ramp of a kind and subject.
SELECT * FROM rollouts
WHERE kind = $kind AND subject = $subject
ORDER BY rollout_id DESC
LIMIT 1;
