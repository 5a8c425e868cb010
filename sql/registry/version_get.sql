-- One version by its full hash.
SELECT hash, name, content, metadata, first_seen FROM prompt_versions WHERE hash = $hash;
