-- Every experiment's stored A/B report of one night.
SELECT experiment, report FROM ab_checks WHERE run_date = $run_date ORDER BY experiment;
