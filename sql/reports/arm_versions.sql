-- Which registered version each arm of the experiments actually served (from the logged
-- prompt hashes), with request counts: the report takes each arm's most served version.
-- The experiments' requests are counted per logged (hash, name) first, and only those pairs
-- are resolved, as the request_prompt_versions view resolves them (a hash or prefix matching one
-- registered version, or one registered under the logged name), without the view's pass over
-- every request of the store. $experiments are counted from the requests; $kept, whose A/B
-- state is as of the night (reports/arm_state_current.sql), from its per-arm counts.
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
pairs AS (SELECT DISTINCT prompt_hash, prompt_name FROM logged),
matches AS (
    SELECT l.prompt_hash, l.prompt_name,
           count(*) AS n_all, count(n.hash) AS n_named,
           min(v.hash) AS any_hash, min(n.hash) AS named_hash
    FROM pairs AS l
    JOIN prompt_versions AS v ON starts_with(v.hash, l.prompt_hash)
    LEFT JOIN prompt_names AS n ON n.hash = v.hash AND n.name = l.prompt_name
    GROUP BY l.prompt_hash, l.prompt_name
),
resolved AS (
    SELECT l.experiment, l.variant, l.requests,
           CASE WHEN m.n_all = 1 THEN m.any_hash WHEN m.n_named = 1 THEN m.named_hash END
               AS version_hash
    FROM logged AS l
    JOIN matches AS m
      ON m.prompt_hash = l.prompt_hash AND m.prompt_name IS NOT DISTINCT FROM l.prompt_name
)
SELECT experiment, variant, version_hash, sum(requests)::BIGINT AS requests
FROM resolved
WHERE version_hash IS NOT NULL
GROUP BY ALL
ORDER BY experiment, variant, requests DESC, version_hash;
