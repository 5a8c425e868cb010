-- Every prompt name that has a registered version.
SELECT DISTINCT name FROM prompt_names ORDER BY name;
