-- The name each version was first registered under.
SELECT hash, name FROM prompt_versions WHERE list_contains($hashes, hash) ORDER BY hash;
