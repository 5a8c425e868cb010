-- Per experiment: users seen in more than one arm, and all users.
SELECT experiment,
       count(*) FILTER (WHERE arms > 1) AS multi_arm_users,
       count(*)                         AS users
FROM ab_user
GROUP BY experiment
ORDER BY experiment;
