-- Every stored decision of the nights up to and including $run_date, newest night first (the
-- index of a night links its own reports and those of the nights before it).
SELECT run_date, prompt, decision, rule, summary, days_more, html_file, md_file
FROM report_decisions
WHERE run_date <= $run_date
ORDER BY run_date DESC, prompt;
