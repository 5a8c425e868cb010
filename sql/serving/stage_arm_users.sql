-- Users and requests per logged arm of an experiment in [since, until): a ramp stage's sample.
SELECT variant, count(DISTINCT user_id) AS users, count(*) AS requests
FROM requests
WHERE experiment = $experiment AND ts >= $since AND ts < $until
GROUP BY variant
ORDER BY variant;
