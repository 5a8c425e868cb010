INSERT INTO report_decisions (run_date, prompt, decision, rule, subject_hash, production_hash,
                              summary, command, days_more, html_file, md_file, details,
                              computed_at)
VALUES ($run_date, $prompt, $decision, $rule, $subject_hash, $production_hash, $summary, $command,
        $days_more, $html_file, $md_file, $details, $computed_at);
