-- Whether a table exists in this store (tables of steps that may not be installed yet).
SELECT count(*) > 0 AS present
FROM information_schema.tables
WHERE table_name = $name;
