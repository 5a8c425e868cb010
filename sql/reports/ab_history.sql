-- How one experiment's estimates evolved over the nights up to $run_date.
SELECT run_date, metric, variant, control, estimate, ci_low, ci_high, p_value, p_value_adjusted,
       chance_to_win, status, control_n, treatment_n
FROM ab_results
WHERE experiment = $experiment AND run_date <= $run_date
ORDER BY metric, variant, run_date;
