-- The most recently registered versions under any name (for "did you mean" lists).
SELECT name, hash, first_seen FROM prompt_names ORDER BY first_seen DESC, name, hash LIMIT $limit;
