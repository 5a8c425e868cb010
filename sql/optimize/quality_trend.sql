-- The quality trend of one prompt's traffic: per UTC day from $first to $last, the thumbs the
-- users gave its answers (the latest thumbs of each request) and the version its production
-- label named at the start of the day.
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM generate_series(CAST($first AS TIMESTAMP), CAST($last AS TIMESTAMP), INTERVAL 1 DAY) AS t(d)
),
thumbs AS (
    SELECT r.request_id, CAST(timezone('UTC', r.ts) AS DATE) AS day, arg_max(f.value, f.ts) AS up
    FROM requests AS r JOIN feedback AS f USING (request_id)
    WHERE r.prompt_name = $name AND f.kind = 'thumbs'
    GROUP BY r.request_id, day
)
SELECT d.day, count(t.request_id) AS thumbs, coalesce(sum(t.up), 0) AS ups,
       (SELECT h.to_hash FROM label_history AS h
        WHERE h.name = $name AND h.label = 'production'
          AND h.moved_at <= timezone('UTC', CAST(d.day AS TIMESTAMP))
        ORDER BY h.move_id DESC LIMIT 1) AS production_hash
FROM days AS d LEFT JOIN thumbs AS t USING (day)
GROUP BY d.day
ORDER BY d.day;
