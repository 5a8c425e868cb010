-- Promotion reports: the decision per night and prompt (what reports/DATE/index.html lists).
-- A night's rows are replaced as a whole when its reports are made again.

CREATE TABLE report_decisions (
    run_date         DATE NOT NULL,
    prompt           VARCHAR NOT NULL,
    decision         VARCHAR NOT NULL,     -- PROMOTE | HOLD | REJECT | ROLLBACK
    rule             VARCHAR NOT NULL,     -- the rule that fired (docs/decisions.md)
    subject_hash     VARCHAR,              -- the version the decision is about
    production_hash  VARCHAR,              -- production as of the night
    summary          VARCHAR NOT NULL,     -- one line with the numbers (redacted)
    command          VARCHAR,              -- the flywheel command that carries it out
    days_more        DOUBLE,               -- HOLD: days of data still needed at current traffic
    html_file        VARCHAR NOT NULL,     -- relative to the night's folder
    md_file          VARCHAR NOT NULL,
    details          JSON NOT NULL,        -- every candidate's verdict and every rule checked
    computed_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_date, prompt)
);
