-- The names a version is registered under, with the file it came from.
SELECT name, source_file, first_seen FROM prompt_names WHERE hash = $hash ORDER BY first_seen, name;
