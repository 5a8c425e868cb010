INSERT INTO eval_runs (run_id, evalset_path, evalset_name, evalset_hash, cases, repeats, versions,
                       baseline_hash, judge_model, trigger, started_at, finished_at, calls_total,
                       calls_cached, calls_http, calls_errored, prompt_tokens, completion_tokens,
                       cost_usd, demo_model, summary)
VALUES ($run_id, $evalset_path, $evalset_name, $evalset_hash, $cases, $repeats, $versions,
        $baseline_hash, $judge_model, $trigger, $started_at, $finished_at, $calls_total,
        $calls_cached, $calls_http, $calls_errored, $prompt_tokens, $completion_tokens,
        $cost_usd, $demo_model, $summary);
