-- The last night the A/B analysis stored results for (the default night of `flywheel report`).
SELECT max(run_date) AS run_date FROM ab_checks;
