SELECT * FROM eval_runs WHERE run_id = $run_id;
