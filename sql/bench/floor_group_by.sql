-- The benchmark floor's second half: one GROUP BY over every stored request.
SELECT prompt_name, prompt_hash, variant, count(*) AS n, avg(latency_ms) AS latency_ms,
       sum(cost_usd) AS cost_usd
FROM requests
GROUP BY ALL;
