-- Registry, part two: rollback bookkeeping, and the link from logged requests to versions.

-- label_history.action is one of: initial (a label declared in a prompt file, placed by
-- `prompts sync` because the label did not exist yet), promote, rollback.
-- A rollback records the promote/initial move it undid, so rollbacks walk back like a stack.
ALTER TABLE label_history ADD COLUMN undoes_move_id BIGINT;

-- One row per request (none dropped): the version its logged prompt_hash names.
-- prompt_hash is logged as a full hash or a prefix of >= 12 hex characters (ingest lowers it).
-- link_status: resolved   the prefix names exactly one registered version, or exactly one
--                         registered under the request's prompt_name
--              unknown    no registered version starts with the logged hash
--              ambiguous  several do, and prompt_name does not single one out
--              no_hash    the request logged no prompt_hash
-- name_matches: for a resolved request with a prompt_name, whether the version is registered
-- under that name (NULL otherwise).
-- Resolution happens at query time, so requests ingested before their prompt was registered
-- link up as soon as it is. The work is done once per distinct (prompt_hash, prompt_name).
CREATE VIEW request_prompt_versions AS
WITH logged AS (
    SELECT DISTINCT prompt_hash, prompt_name FROM requests WHERE prompt_hash IS NOT NULL
), matches AS (
    SELECT l.prompt_hash, l.prompt_name,
           count(*) AS n_all,
           count(n.hash) AS n_named,
           min(v.hash) AS any_hash,
           min(n.hash) AS named_hash
    FROM logged AS l
    JOIN prompt_versions AS v ON starts_with(v.hash, l.prompt_hash)
    LEFT JOIN prompt_names AS n ON n.hash = v.hash AND n.name = l.prompt_name
    GROUP BY l.prompt_hash, l.prompt_name
)
SELECT
    r.request_id,
    r.ts,
    r.prompt_name,
    r.prompt_hash AS logged_hash,
    CASE WHEN m.n_all = 1 THEN m.any_hash
         WHEN m.n_named = 1 THEN m.named_hash END AS version_hash,
    CASE WHEN r.prompt_hash IS NULL THEN 'no_hash'
         WHEN m.n_all IS NULL THEN 'unknown'
         WHEN m.n_all = 1 OR m.n_named = 1 THEN 'resolved'
         ELSE 'ambiguous' END AS link_status,
    CASE WHEN r.prompt_name IS NOT NULL AND (m.n_all = 1 OR m.n_named = 1)
         THEN m.n_named = 1 END AS name_matches
FROM requests AS r
LEFT JOIN matches AS m
    ON m.prompt_hash = r.prompt_hash AND m.prompt_name IS NOT DISTINCT FROM r.prompt_name;
