-- Per experiment and logged arm: users (in this arm only), users also seen in another arm,
-- requests, requests whose logged arm differs from assign_variant, users new since $recent_from;
-- and, over all users logged in the arm, the per-user sums behind the cluster-robust variance
-- of the latency quantiles (S = requests at or below the arm's p50/p95, N = requests with a
-- latency).
SELECT
    experiment,
    variant,
    count(*) FILTER (WHERE arms = 1)                                  AS users,
    count(*) FILTER (WHERE arms > 1)                                  AS multi_arm_users,
    sum(requests)                                                     AS requests,
    coalesce(sum(requests) FILTER (WHERE variant <> expected_variant), 0)
                                                                      AS mismatched_requests,
    count(*) FILTER (WHERE arms = 1 AND first_ts >= $recent_from)     AS recent_new_users,
    count(*) FILTER (WHERE latency_n > 0)                             AS clusters,
    sum(latency_n)::DOUBLE                                            AS n_sum,
    sum(latency_n * latency_n)::DOUBLE                                AS n_sum_squares,
    sum(latency_le_q1)::DOUBLE                                        AS s1_sum,
    sum(latency_le_q1 * latency_le_q1)::DOUBLE                        AS s1_sum_squares,
    sum(latency_le_q1 * latency_n)::DOUBLE                            AS s1_n,
    sum(latency_le_q2)::DOUBLE                                        AS s2_sum,
    sum(latency_le_q2 * latency_le_q2)::DOUBLE                        AS s2_sum_squares,
    sum(latency_le_q2 * latency_n)::DOUBLE                            AS s2_n
FROM ab_user_arm
GROUP BY ALL
ORDER BY experiment, variant;
