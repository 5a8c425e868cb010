-- Nightly A/B results: one row per (run date, experiment, metric, treatment), and the
-- integrity checks and sample plan per (run date, experiment). A run date's rows are replaced
-- as a whole when that date is analysed again.

CREATE TABLE ab_results (
    run_date          DATE NOT NULL,        -- results as of the end of this date (UTC)
    experiment        VARCHAR NOT NULL,
    metric            VARCHAR NOT NULL,
    variant           VARCHAR NOT NULL,     -- the treatment
    control           VARCHAR NOT NULL,
    control_mean      DOUBLE,
    treatment_mean    DOUBLE,
    control_n         BIGINT,
    treatment_n       BIGINT,
    relative          BOOLEAN NOT NULL,
    estimate          DOUBLE,
    ci_low            DOUBLE,
    ci_high           DOUBLE,
    se                DOUBLE,
    p_value           DOUBLE,
    p_value_adjusted  DOUBLE,
    chance_to_win     DOUBLE,
    risk_control      DOUBLE,
    risk_treatment    DOUBLE,
    status            VARCHAR NOT NULL,     -- collecting | significant | not significant | untrustworthy
    direction         VARCHAR,              -- better | worse
    sequential        BOOLEAN NOT NULL,
    cuped             BOOLEAN NOT NULL,
    error             VARCHAR,
    computed_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_date, experiment, metric, variant)
);

CREATE TABLE ab_checks (
    run_date                   DATE NOT NULL,
    experiment                 VARCHAR NOT NULL,
    status                     VARCHAR NOT NULL,
    trustworthy                BOOLEAN NOT NULL,
    srm_p_value                DOUBLE,
    assignment_mismatch_share  DOUBLE NOT NULL,
    multi_arm_users            BIGINT NOT NULL,
    failed_checks              VARCHAR[] NOT NULL,
    users                      BIGINT NOT NULL,
    requests                   BIGINT NOT NULL,
    sample_needed              BIGINT,
    days_remaining             DOUBLE,
    winner                     VARCHAR,
    report                     JSON NOT NULL,   -- the experiment's whole report (arms, checks, plan)
    computed_at                TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_date, experiment)
);

-- Experiments seen in the logs without an experiment file, per run date and logged arm.
CREATE TABLE ab_unfiled (
    run_date    DATE NOT NULL,
    experiment  VARCHAR NOT NULL,
    variant     VARCHAR NOT NULL,
    users       BIGINT NOT NULL,
    requests    BIGINT NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_date, experiment, variant)
);
