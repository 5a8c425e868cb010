-- Latency histogram per arm of one experiment (its requests from $start to $end: its end, or
-- the night's end), in the bins of the latency_bin macro (sql/schema/latency_bin_macro.sql), as
-- the A/B state counts them (reports/latency_hist_arms_kept.sql).
SELECT coalesce(variant, '(missing)') AS grp,
       latency_bin(latency_ms, $per_decade) AS bin,
       count(*) AS n
FROM requests
WHERE experiment = $experiment AND ts >= $start AND ts < $end AND latency_ms IS NOT NULL
GROUP BY ALL
ORDER BY grp, bin;
