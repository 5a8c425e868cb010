-- The experiment files the night's A/B analysis could not load, with their errors.
SELECT file, line, key, message
FROM ab_file_errors
WHERE run_date = $run_date
ORDER BY file, line NULLS LAST, key;
