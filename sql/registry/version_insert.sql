INSERT INTO prompt_versions (hash, name, content, metadata, first_seen)
VALUES ($hash, $name, $content, $metadata, $now)
ON CONFLICT (hash) DO NOTHING;
