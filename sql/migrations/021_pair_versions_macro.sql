-- The one rule that links a logged prompt to a registered version, declared once:
-- fw_pair_versions(pairs) takes the name of a table, view or CTE with prompt_hash and
-- prompt_name columns and returns, per distinct logged (prompt_hash, prompt_name) with a hash,
-- the version it names and how (link_status, name_matches: see 003_registry_links.sql):
-- the hash or prefix matches exactly one registered version, or exactly one registered under
-- the logged name. The request_prompt_versions view (per request), the link report
-- (registry/link_pairs_resolve.sql, per kept pair) and the served versions of the report
-- (reports/arm_versions.sql, per arm) all resolve through it.
CREATE MACRO fw_pair_versions(pairs) AS TABLE
WITH logged AS (
    SELECT DISTINCT prompt_hash, prompt_name FROM query_table(pairs) WHERE prompt_hash IS NOT NULL
), matches AS (
    SELECT l.prompt_hash, l.prompt_name,
           count(v.hash) AS n_all,
           count(n.hash) AS n_named,
           min(v.hash) AS any_hash,
           min(n.hash) AS named_hash
    FROM logged AS l
    LEFT JOIN prompt_versions AS v ON starts_with(v.hash, l.prompt_hash)
    LEFT JOIN prompt_names AS n ON n.hash = v.hash AND n.name = l.prompt_name
    GROUP BY l.prompt_hash, l.prompt_name
)
SELECT prompt_hash, prompt_name,
       CASE WHEN n_all = 1 THEN any_hash WHEN n_named = 1 THEN named_hash END AS version_hash,
       CASE WHEN n_all = 0 THEN 'unknown'
            WHEN n_all = 1 OR n_named = 1 THEN 'resolved'
            ELSE 'ambiguous' END AS link_status,
       CASE WHEN prompt_name IS NOT NULL AND (n_all = 1 OR n_named = 1)
            THEN n_named = 1 END AS name_matches
FROM matches;

CREATE OR REPLACE VIEW request_prompt_versions AS
SELECT
    r.request_id,
    r.ts,
    r.prompt_name,
    r.prompt_hash AS logged_hash,
    m.version_hash,
    CASE WHEN r.prompt_hash IS NULL THEN 'no_hash' ELSE m.link_status END AS link_status,
    m.name_matches
FROM requests AS r
LEFT JOIN fw_pair_versions('requests') AS m
    ON m.prompt_hash = r.prompt_hash AND m.prompt_name IS NOT DISTINCT FROM r.prompt_name;
