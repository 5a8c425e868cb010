-- Ramps in the given statuses (all when NULL), oldest first.
SELECT * FROM rollouts
WHERE $statuses::VARCHAR[] IS NULL OR list_contains($statuses::VARCHAR[], status)
ORDER BY rollout_id;
