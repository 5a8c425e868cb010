DELETE FROM ab_file_errors WHERE run_date = $run_date;
