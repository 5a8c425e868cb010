-- One row per (version, case) of a run: the sufficient statistics over its repeats.
-- passed_all: every scored repeat passed (NULL when no repeat could be scored).
SELECT prompt_hash,
       case_id,
       any_value(tags) AS tags,
       count(*) AS repeats,
       count(score) AS scored,
       count(*) - count(score) AS errored,
       count(*) FILTER (WHERE passed) AS passes,
       bool_and(passed) AS passed_all,
       avg(score) AS mean_score,
       arg_min(output, repeat_index) AS output,
       arg_min(error, repeat_index) FILTER (WHERE error IS NOT NULL) AS first_error
FROM eval_results
WHERE run_id = $run_id
GROUP BY prompt_hash, case_id
ORDER BY prompt_hash, case_id;
