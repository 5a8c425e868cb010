-- Benchmark data: $n requests (ids from $first on) whose prompt_hash cycles through $hashes (full,
-- prefixes, unknown).
INSERT INTO requests (request_id, ts, user_id, prompt_name, prompt_hash, model, source_file,
                      ingested_at)
SELECT 'bench-' || i, TIMESTAMPTZ '2026-11-01 00:00:00+00' + to_seconds(i), 'u' || (i % 5000),
       $names[1 + i % len($names)], $hashes[1 + i % len($hashes)], 'gpt-4o-mini', 'bench', now()
FROM range($first, $first + $n) AS t(i);
