-- Versions whose hash starts with the prefix, optionally only those registered under a name.
SELECT v.hash, coalesce(n.name, v.name) AS name, v.content, v.metadata
FROM prompt_versions AS v
LEFT JOIN prompt_names AS n ON n.hash = v.hash AND n.name = $name
WHERE starts_with(v.hash, $prefix) AND ($name IS NULL OR n.name IS NOT NULL)
ORDER BY v.hash;
