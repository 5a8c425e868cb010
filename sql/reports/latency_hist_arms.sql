-- Latency histogram per arm of one experiment (requests from its start to $as_of): log-spaced
-- bins, $per_decade to a factor of ten; bin k covers [10^(k/$per_decade), 10^((k+1)/$per_decade)).
SELECT coalesce(variant, '(missing)') AS grp,
       floor(log10(greatest(latency_ms, 1.0)) * $per_decade)::BIGINT AS bin,
       count(*) AS n
FROM requests
WHERE experiment = $experiment AND ts >= $start AND ts < $as_of AND latency_ms IS NOT NULL
GROUP BY ALL
ORDER BY grp, bin;
