SELECT * FROM eval_results ORDER BY run_id, prompt_hash, case_id, repeat_index;
