-- Per experiment and arm, over users logged in that arm only: for each ratio metric the sums
-- of its numerator m and denominator d per user, of their pre-period values mp, dp (CUPED),
-- their squares and cross products (the arm_sums placeholder, generated from the metric declarations by
-- tasks/ab/_metric_sql.py). Columns are named <metric>__<statistic>. (One wide
-- aggregate: an order of magnitude faster than unpivoting users into metric rows.)
SELECT
    a.experiment,
    a.variant,
    count(*) AS n,
    /*@arm_sums*/
FROM ab_user_arm AS a
LEFT JOIN ab_user_pre AS p USING (experiment, user_id)
WHERE a.arms = 1
GROUP BY ALL
ORDER BY a.experiment, a.variant;
