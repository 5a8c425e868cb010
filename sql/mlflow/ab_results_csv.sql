-- One night's A/B results of one experiment, as the CSV artifact.
SELECT metric, variant, control, control_mean, treatment_mean, control_n, treatment_n, relative,
       estimate, ci_low, ci_high, se, p_value, p_value_adjusted, chance_to_win, risk_control,
       risk_treatment, status, direction, sequential, cuped, error
FROM ab_results
WHERE run_date = $run_date::DATE AND experiment = $experiment
ORDER BY metric, variant;
