-- Experiments seen in the logs (up to the as-of moment) that have no experiment file.
SELECT
    experiment,
    coalesce(variant, '(missing)') AS variant,
    count(DISTINCT user_id)        AS users,
    count(*)                       AS requests,
    min(ts)                        AS first_ts,
    max(ts)                        AS last_ts
FROM requests
WHERE experiment IS NOT NULL
  AND ts < coalesce($as_of, 'infinity'::TIMESTAMPTZ)
  AND NOT list_contains($known::VARCHAR[], experiment)
GROUP BY ALL
ORDER BY experiment, variant;
