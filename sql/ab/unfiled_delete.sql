DELETE FROM ab_unfiled WHERE run_date = $run_date;
