-- How many prompt versions the registry holds (no versions: the unknown-hash check is moot).
SELECT count(*) AS versions FROM prompt_versions;
