-- Canonical content of prompt versions ($hashes: VARCHAR[]).
SELECT hash, content
FROM prompt_versions
WHERE hash IN (SELECT unnest($hashes::VARCHAR[]));
