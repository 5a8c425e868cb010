-- Which registered version each arm of the experiments actually served (from the logged
-- prompt hashes), with request counts: the report takes each arm's most served version.
-- The experiments' requests are counted per logged (hash, name) first, and only those pairs
-- are resolved (fw_pair_versions, sql/migrations/021_pair_versions_macro.sql), without the
-- request_prompt_versions view's pass over every request of the store. $experiments are
-- counted from the requests; $kept, whose A/B state is as of the night
-- (reports/arm_state_current.sql), from its per-arm counts.
WITH logged AS (
    SELECT experiment, coalesce(variant, '(missing)') AS variant, prompt_hash, prompt_name,
           count(*) AS requests
    FROM requests
    WHERE list_contains($experiments::VARCHAR[], experiment) AND ts < $as_of
      AND prompt_hash IS NOT NULL
    GROUP BY ALL
    UNION ALL
    SELECT experiment, variant, prompt_hash, prompt_name, sum(requests) AS requests
    FROM ab_arm_nights
    WHERE list_contains($kept::VARCHAR[], experiment) AND prompt_hash IS NOT NULL
    GROUP BY ALL
),
resolved AS (
    SELECT l.experiment, l.variant, l.requests, m.version_hash
    FROM logged AS l
    JOIN fw_pair_versions('logged') AS m
      ON m.prompt_hash = l.prompt_hash AND m.prompt_name IS NOT DISTINCT FROM l.prompt_name
)
SELECT experiment, variant, version_hash, sum(requests)::BIGINT AS requests
FROM resolved
WHERE version_hash IS NOT NULL
GROUP BY ALL
ORDER BY experiment, variant, requests DESC, version_hash;
