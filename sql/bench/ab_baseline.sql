-- The baseline: one grouped scan of the experiment requests (the least any analysis reads).
SELECT experiment, variant, count(*), count(DISTINCT user_id), avg(latency_ms)
FROM requests
WHERE experiment IS NOT NULL
GROUP BY ALL;
