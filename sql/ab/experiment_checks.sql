-- Per experiment: users seen in more than one arm, and all users.
SELECT experiment,
       count(DISTINCT user_id) FILTER (WHERE arms > 1) AS multi_arm_users,
       count(DISTINCT user_id)                         AS users
FROM ab_user_arm
GROUP BY experiment
ORDER BY experiment;
