-- Benchmark users: user i belongs to experiment i % $experiments, in the arm assign_variant
-- gives (equal weights over 2 or 3 arms: $cum2, $cum3), with a personal taste factor.
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
    ['control', 'b', 'c'][coalesce(list_position(list_transform(
        CASE arms WHEN 2 THEN $cum2 ELSE $cum3 END,
        lambda w: w > ('0x' || substr(md5(experiment || ':' || user_id), 1, 8))::UBIGINT
                      / 4294967295.0), true), arms)] AS variant
FROM base;
