-- The stored marks of the experiments' per-user-night sums.
SELECT experiment, config_key, as_of, ingested_through, requests_seen, feedback_seen
FROM ab_state
WHERE list_contains($experiments::VARCHAR[], experiment);
