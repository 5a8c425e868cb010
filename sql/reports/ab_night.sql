-- Every experiment the A/B analysis stored for one night, with its whole report (JSON).
SELECT experiment, status, trustworthy, report
FROM ab_checks
WHERE run_date = $run_date
ORDER BY experiment;
