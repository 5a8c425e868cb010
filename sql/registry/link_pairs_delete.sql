-- Drop the pairs link_pairs_new replaces (every pair: $rebuild); registry/link_pairs_insert.sql
-- then adds its rows.
DELETE FROM request_link_pairs AS p
WHERE $rebuild OR EXISTS (
    SELECT 1 FROM link_pairs_new AS n
    WHERE n.prompt_hash IS NOT DISTINCT FROM p.prompt_hash
      AND n.prompt_name IS NOT DISTINCT FROM p.prompt_name);
