-- The nights of the experiments $experiments whose stored sums are out of date since their
-- mark: nights of requests ingested after $mark, and nights of the requests of feedback that
-- was ingested after $mark or is dated from $old_as_of on (known now, not then); each in the
-- pre-period (whole UTC nights before the start's, any request of a user, shared by the
-- experiments: experiment '') or the experiment period (its own requests) it falls in.
-- Feedback is found by a bound on its ts or ingested_at (both follow the storage order); its
-- requests by request_id, a scan of that one column.
WITH late_feedback AS (
    SELECT request_id FROM feedback WHERE ingested_at > $mark AND ts < $as_of
    UNION
    SELECT request_id FROM feedback WHERE ts >= $old_as_of AND ts < $as_of
),
touched AS (
    SELECT ts, experiment FROM requests WHERE ingested_at > $mark AND ts < $as_of
    UNION ALL
    SELECT r.ts, r.experiment FROM requests AS r SEMI JOIN late_feedback USING (request_id)
    WHERE r.ts < $as_of
)
SELECT DISTINCT
    CASE WHEN t.night < c.start_night THEN '' ELSE c.experiment END AS experiment,
    CASE WHEN t.night < c.start_night THEN 'pre' ELSE 'post' END  AS part,
    t.night
FROM (SELECT ts, experiment, (ts AT TIME ZONE 'UTC')::DATE AS night FROM touched) AS t
JOIN (SELECT *, (start_ts AT TIME ZONE 'UTC')::DATE AS start_night,
             (pre_start_ts AT TIME ZONE 'UTC')::DATE AS pre_night FROM ab_config) AS c
  ON t.night >= c.pre_night AND t.ts < c.end_ts
 AND (t.night < c.start_night OR (t.experiment = c.experiment AND t.ts >= c.start_ts))
WHERE list_contains($experiments::VARCHAR[], c.experiment)
ORDER BY ALL;
