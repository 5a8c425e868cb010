-- The experiments of $experiments whose A/B state (ab_state's mark, ab_arm_nights) is as of
-- $as_of: the report reads their per-arm counts from it.
SELECT experiment FROM ab_state
WHERE list_contains($experiments::VARCHAR[], experiment) AND as_of = $as_of;
