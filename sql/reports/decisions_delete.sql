-- A night's decisions are replaced as a whole.
DELETE FROM report_decisions WHERE run_date = $run_date;
