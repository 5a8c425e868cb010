-- One night's stored integrity checks of one experiment.
SELECT status, trustworthy, failed_checks, srm_p_value, users, requests
FROM ab_checks
WHERE run_date = $run_date AND experiment = $experiment;
