-- Per experiment and logged arm: users (in this arm only), users also seen in another arm,
-- requests, requests whose logged arm differs from assign_variant, users new since $recent_from.
SELECT
    a.experiment,
    a.variant,
    count(*) FILTER (WHERE u.arms = 1)                                AS users,
    count(*) FILTER (WHERE u.arms > 1)                                AS multi_arm_users,
    sum(a.requests)                                                   AS requests,
    coalesce(sum(a.requests) FILTER (WHERE a.variant <> u.expected_variant), 0)
                                                                      AS mismatched_requests,
    count(*) FILTER (WHERE u.arms = 1 AND u.first_ts >= $recent_from) AS recent_new_users,
    max(a.last_ts)                                                    AS last_ts
FROM ab_user_arm AS a
JOIN ab_user AS u USING (experiment, user_id)
GROUP BY ALL
ORDER BY a.experiment, a.variant;
