-- Whether a version is registered under a name (1 row) or not (none).
SELECT 1 AS registered FROM prompt_names WHERE name = $name AND hash = $hash;
