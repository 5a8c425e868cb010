-- The columns of a table, in order (empty when it does not exist).
SELECT column_name, data_type FROM information_schema.columns
WHERE table_schema = 'main' AND table_name = $table
ORDER BY ordinal_position;
