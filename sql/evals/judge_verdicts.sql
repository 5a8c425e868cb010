-- The judge's llm-rubric verdicts on a case's output, newest run first: the per-assertion
-- results of every eval result with this case id and this exact output.
SELECT r.run_id, r.assertions, e.evalset_path, e.judge_model
FROM eval_results AS r
JOIN eval_runs AS e USING (run_id)
WHERE r.case_id = $case_id AND r.output = $output AND r.assertions IS NOT NULL
ORDER BY e.started_at DESC, r.run_id DESC, r.repeat_index
LIMIT 1;
