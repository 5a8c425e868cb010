-- How one experiment's estimates evolved, night by night.
SELECT run_date, metric, variant, estimate, ci_low, ci_high, p_value, p_value_adjusted,
       chance_to_win, status
FROM ab_results
WHERE experiment = $experiment
ORDER BY metric, variant, run_date;
