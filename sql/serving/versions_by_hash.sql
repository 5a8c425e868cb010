-- The canonical content of the given versions (full hashes).
SELECT hash, name, content
FROM prompt_versions
WHERE list_contains($hashes::VARCHAR[], hash)
ORDER BY hash;
