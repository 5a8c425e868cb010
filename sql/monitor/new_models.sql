-- Models served tonight that no earlier request used (only once there is an earlier request).
WITH before AS (SELECT DISTINCT model FROM requests WHERE ts < $night_start)
SELECT r.model, count(*) AS requests, min(r.prompt_name) AS prompt_name
FROM requests r
WHERE r.ts >= $night_start AND r.ts < $night_end
  AND r.model NOT IN (SELECT model FROM before)
  AND EXISTS (SELECT 1 FROM before)
GROUP BY r.model
ORDER BY requests DESC, r.model;
