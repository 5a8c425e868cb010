INSERT INTO ab_checks VALUES (
    $run_date, $experiment, $status, $trustworthy, $srm_p_value, $assignment_mismatch_share,
    $multi_arm_users, $failed_checks, $users, $requests, $sample_needed, $days_remaining,
    $winner, $report, $computed_at
);
