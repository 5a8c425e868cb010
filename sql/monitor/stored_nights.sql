-- The nights of [$window_start, $night_start) whose metrics and token counts are stored: the
-- window reads them back instead of recomputing them from their requests.
SELECT DISTINCT m.run_date FROM monitor_metrics AS m
WHERE m.run_date >= CAST($window_start AS DATE) AND m.run_date < CAST($night_start AS DATE)
  AND EXISTS (SELECT 1 FROM monitor_token_counts AS t WHERE t.run_date = m.run_date)
ORDER BY m.run_date;
