-- One row per experiment and user: how many arms the user was logged in, and the arm
-- assign_variant(experiment, user_id, variants, weights) gives (md5 bucketing, in SQL).
CREATE OR REPLACE TEMP TABLE ab_user AS
WITH per_user AS (
    SELECT experiment, user_id, count(*) AS arms, min(variant) AS variant,
           sum(requests) AS requests, min(first_ts) AS first_ts
    FROM ab_user_arm
    GROUP BY ALL
)
SELECT
    u.*,
    c.variants[coalesce(
        list_position(
            list_transform(
                c.cum_weights,
                lambda w: w > ('0x' || substr(md5(u.experiment || ':' || u.user_id), 1, 8))::UBIGINT
                              / 4294967295.0),
            true),
        len(c.variants))] AS expected_variant
FROM per_user AS u
JOIN ab_config AS c USING (experiment);
