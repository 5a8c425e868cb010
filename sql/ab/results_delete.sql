DELETE FROM ab_results WHERE run_date = $run_date;
