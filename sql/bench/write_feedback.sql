-- Benchmark data: feedback on every fifth request of the range.
COPY (
    SELECT 'fb-' || i AS feedback_id, 'req-' || i AS request_id,
           strftime(TIMESTAMP '2026-11-01' + to_seconds(i % 86400 + 60), '%Y-%m-%dT%H:%M:%S') || 'Z' AS "timestamp",
           CASE WHEN i % 3 = 0 THEN 'rating' ELSE 'thumbs' END AS kind,
           CASE WHEN i % 3 = 0 THEN 1 + hash(i) % 5 ELSE hash(i) % 2 END AS value
    FROM range($first, $first + $n) AS t(i)
    WHERE i % 5 = 0
) TO $path (FORMAT json);
