-- How many experiments the A/B analysis stored for one night (0: it did not run for it).
SELECT count(*) AS experiments FROM ab_checks WHERE run_date = $run_date;
