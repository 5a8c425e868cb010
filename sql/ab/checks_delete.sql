DELETE FROM ab_checks WHERE run_date = $run_date;
