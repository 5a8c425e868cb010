-- Every stored period of the bandit experiments named, up to a day (inclusive), oldest first.
SELECT experiment, starts_on, run_date, period, variant, weight, method, phase, prob_best,
       expected_loss, seed, note
FROM ab_allocations
WHERE list_contains($experiments::VARCHAR[], experiment)
  AND starts_on <= coalesce($until, 'infinity'::DATE)
ORDER BY experiment, starts_on, variant;
