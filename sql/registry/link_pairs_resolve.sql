-- link_pairs_status: each logged (prompt_hash, prompt_name) pair with the version it names
-- (fw_pair_versions, sql/migrations/021_pair_versions_macro.sql: as request_prompt_versions
-- resolves a request).
CREATE OR REPLACE TEMP TABLE link_pairs_status AS
SELECT p.prompt_hash AS logged_hash, p.prompt_name, p.requests, p.first_ts, p.last_ts,
       p.examples, m.version_hash,
       CASE WHEN p.prompt_hash IS NULL THEN 'no_hash' ELSE m.link_status END AS link_status,
       m.name_matches
FROM request_link_pairs AS p
LEFT JOIN fw_pair_versions('request_link_pairs') AS m
  ON m.prompt_hash = p.prompt_hash AND m.prompt_name IS NOT DISTINCT FROM p.prompt_name;
