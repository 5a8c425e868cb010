-- One night's stored A/B rows of one experiment (every metric and treatment).
SELECT metric, variant, control, control_mean, treatment_mean, control_n, treatment_n,
       estimate, ci_low, ci_high, p_value, status, error
FROM ab_results
WHERE run_date = $run_date AND experiment = $experiment
ORDER BY metric, variant;
