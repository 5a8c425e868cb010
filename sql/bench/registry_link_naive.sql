-- Baseline for the link view: match every request against every version (a per-row prefix
-- join, no grouping by distinct logged hash), then classify. Same counts as link_summary.sql.
WITH m AS (
    SELECT r.request_id, r.prompt_hash, count(v.hash) AS n
    FROM requests AS r
    LEFT JOIN prompt_versions AS v ON starts_with(v.hash, r.prompt_hash)
    GROUP BY r.request_id, r.prompt_hash
)
SELECT count(*) AS requests,
       count_if(prompt_hash IS NOT NULL AND n = 1) AS resolved,
       count_if(prompt_hash IS NOT NULL AND n = 0) AS unknown,
       count_if(prompt_hash IS NOT NULL AND n > 1) AS ambiguous,
       count_if(prompt_hash IS NULL) AS no_hash
FROM m;
