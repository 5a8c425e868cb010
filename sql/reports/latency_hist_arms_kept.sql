-- Latency histogram per arm of one experiment from the A/B state's per-arm counts
-- (ab_arm_nights, as of the report's night: reports/arm_state_current.sql), the bins of
-- reports/latency_hist_arms.sql.
SELECT variant AS grp, latency_bin AS bin, sum(requests)::BIGINT AS n
FROM ab_arm_nights
WHERE experiment = $experiment AND latency_bin IS NOT NULL
GROUP BY ALL
ORDER BY grp, bin;
