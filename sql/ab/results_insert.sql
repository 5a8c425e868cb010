INSERT INTO ab_results VALUES (
    $run_date, $experiment, $metric, $variant, $control, $control_mean, $treatment_mean,
    $control_n, $treatment_n, $relative, $estimate, $ci_low, $ci_high, $se, $p_value,
    $p_value_adjusted, $chance_to_win, $risk_control, $risk_treatment, $status, $direction,
    $sequential, $cuped, $error, $computed_at
);
