-- Benchmark users: user i belongs to experiment i % $experiments, in the arm assign_variant
-- gives (fw_assign_variant, sql/ab/assign_variant_macro.sql; equal weights over 2 or 3 arms:
-- $cum2, $cum3), with a personal taste factor.
CREATE OR REPLACE TEMP TABLE bench_users AS
WITH base AS (
    SELECT
        range AS i,
        'u' || range AS user_id,
        'exp-' || lpad((range % $experiments)::VARCHAR, 2, '0') AS experiment,
        CASE WHEN range % $experiments % 2 = 0 THEN 2 ELSE 3 END AS arms,
        0.6 + 0.8 * (hash(range, 'taste') % 1000000) / 1000000.0 AS taste
    FROM range($users)
)
SELECT *,
    fw_assign_variant(experiment, user_id, ['control', 'b', 'c'][:arms],
                      CASE arms WHEN 2 THEN $cum2 ELSE $cum3 END) AS variant
FROM base;
