-- link_pairs_status: each logged (prompt_hash, prompt_name) pair with the version it names, as
-- the request_prompt_versions view resolves a request (sql/migrations/003_registry_links.sql):
-- a hash or prefix matching one registered version, or one registered under the logged name.
CREATE OR REPLACE TEMP TABLE link_pairs_status AS
WITH matches AS (
    SELECT l.prompt_hash, l.prompt_name,
           count(*) AS n_all, count(n.hash) AS n_named,
           min(v.hash) AS any_hash, min(n.hash) AS named_hash
    FROM request_link_pairs AS l
    JOIN prompt_versions AS v ON starts_with(v.hash, l.prompt_hash)
    LEFT JOIN prompt_names AS n ON n.hash = v.hash AND n.name = l.prompt_name
    GROUP BY l.prompt_hash, l.prompt_name
)
SELECT p.prompt_hash AS logged_hash, p.prompt_name, p.requests, p.first_ts, p.last_ts,
       p.examples,
       CASE WHEN m.n_all = 1 THEN m.any_hash
            WHEN m.n_named = 1 THEN m.named_hash END AS version_hash,
       CASE WHEN p.prompt_hash IS NULL THEN 'no_hash'
            WHEN m.n_all IS NULL THEN 'unknown'
            WHEN m.n_all = 1 OR m.n_named = 1 THEN 'resolved'
            ELSE 'ambiguous' END AS link_status,
       CASE WHEN p.prompt_name IS NOT NULL AND (m.n_all = 1 OR m.n_named = 1)
            THEN m.n_named = 1 END AS name_matches
FROM request_link_pairs AS p
LEFT JOIN matches AS m
  ON m.prompt_hash = p.prompt_hash AND m.prompt_name IS NOT DISTINCT FROM p.prompt_name;
