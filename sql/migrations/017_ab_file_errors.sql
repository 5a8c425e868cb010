-- Experiment files that could not be loaded on a night (issue 23): the nightly A/B analysis
-- skips a bad file (the other experiments are analysed) and keeps its error here, replaced with
-- the night's rows on a re-run, for the reports and the run summary.
CREATE TABLE ab_file_errors (
    run_date     DATE NOT NULL,
    file         VARCHAR NOT NULL,     -- the experiment file
    line         INTEGER,              -- the line at fault, when there is one to point at
    key          VARCHAR,              -- the key at fault (variants.control, guardrails[0].metric)
    message      VARCHAR NOT NULL,
    computed_at  TIMESTAMPTZ NOT NULL
);
