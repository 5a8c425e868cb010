-- Per experiment-period window of ab_changed, arm, logged prompt and latency bin: the requests
-- (ab_arm_nights); $lo and $hi bound the stretch of nights, like ab/night_rows_compute.sql.
INSERT INTO ab_arm_nights_new
SELECT w.experiment, w.night, coalesce(r.variant, '(missing)') AS variant, r.prompt_hash,
       r.prompt_name, latency_bin(r.latency_ms, $per_decade) AS latency_bin, count(*) AS requests
FROM requests AS r
JOIN ab_changed AS w
  ON w.part = 'post' AND w.experiment = r.experiment
 AND w.night = (r.ts AT TIME ZONE 'UTC')::DATE
WHERE r.ts >= $lo AND r.ts < $hi AND r.ts >= w.lo AND r.ts < w.hi
  AND w.lo >= $lo AND w.hi <= $hi
GROUP BY ALL;
