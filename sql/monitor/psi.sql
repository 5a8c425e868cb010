-- Population stability of input and output length (prompt_tokens, completion_tokens of
-- successful requests) per prompt version: tonight against the pooled baseline nights, in bins
-- cut at the baseline's deciles (ties merge bins). A bin's share is floored at $eps so an empty
-- bin does not make the index infinite. chi2 is Pearson's statistic of the 2 x bins table, to
-- tell a real shift from the noise of a small night.
-- The lengths come as counts (window_tokens.sql: n requests of length x); a decile is taken
-- from the cumulative counts as quantile_disc takes it from the rows: the value at 0-based rank
-- ceil(q * N) - 1 of the N sorted values (in doubles, as quantile_disc computes it).
WITH vals AS (SELECT * FROM monitor_window_tokens),
cumulative AS (
    SELECT prompt_name, prompt_hash, model, measure, x,
           sum(n) OVER (PARTITION BY prompt_name, prompt_hash, model, measure ORDER BY x) AS upto,
           sum(n) OVER (PARTITION BY prompt_name, prompt_hash, model, measure) AS total
    FROM (SELECT prompt_name, prompt_hash, model, measure, x, sum(n) AS n
          FROM vals WHERE night < $run_date GROUP BY ALL)
),
deciles AS (
    SELECT c.prompt_name, c.prompt_hash, c.model, c.measure, d.q, min(c.x) AS x
    FROM cumulative AS c
    CROSS JOIN (SELECT unnest([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]::DOUBLE[]) AS q) AS d
    WHERE c.upto >= ceil(d.q * CAST(c.total AS DOUBLE))
    GROUP BY ALL
),
cuts AS (
    SELECT prompt_name, prompt_hash, model, measure, list_distinct(list(x ORDER BY q)) AS edges
    FROM deciles
    GROUP BY prompt_name, prompt_hash, model, measure
),
binned AS (
    SELECT v.prompt_name, v.prompt_hash, v.model, v.measure,
           len(list_filter(c.edges, lambda e: e < v.x)) AS bin,
           CAST(coalesce(sum(v.n) FILTER (WHERE v.night = $run_date), 0) AS BIGINT) AS actual,
           CAST(coalesce(sum(v.n) FILTER (WHERE v.night < $run_date), 0) AS BIGINT) AS expected
    FROM vals v
    JOIN cuts c
      ON v.prompt_name IS NOT DISTINCT FROM c.prompt_name
     AND v.prompt_hash IS NOT DISTINCT FROM c.prompt_hash
     AND v.model = c.model AND v.measure = c.measure
    GROUP BY ALL
),
shares AS (
    SELECT *, sum(actual) OVER g AS n_a, sum(expected) OVER g AS n_e
    FROM binned
    WINDOW g AS (PARTITION BY prompt_name, prompt_hash, model, measure)
),
terms AS (
    SELECT *,
           greatest(actual / n_a, $eps) AS a, greatest(expected / n_e, $eps) AS e,
           (actual + expected) * n_a / (n_a + n_e) AS exp_a,
           (actual + expected) * n_e / (n_a + n_e) AS exp_e
    FROM shares
    WHERE n_a > 0
)
SELECT prompt_name, prompt_hash, model, measure,
       count(*) AS bins, any_value(n_a) AS tonight_n, any_value(n_e) AS baseline_n,
       sum((a - e) * ln(a / e) ORDER BY bin) AS psi,
       sum((actual - exp_a) ^ 2 / exp_a + (expected - exp_e) ^ 2 / exp_e ORDER BY bin) AS chi2
FROM terms
GROUP BY prompt_name, prompt_hash, model, measure
HAVING any_value(n_a) >= $min_count AND any_value(n_e) >= $min_count
ORDER BY prompt_name, prompt_hash, model, measure;
