INSERT INTO prompt_names (name, hash, source_file, first_seen)
VALUES ($name, $hash, $source_file, $now)
ON CONFLICT (name, hash) DO NOTHING;
