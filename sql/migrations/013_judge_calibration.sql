-- Judge calibration (docs/evals.md, "Judge calibration"): one row per rubric of each
-- `flywheel eval calibrate`, the agreement of the llm-rubric judge's verdicts with human ones.
CREATE TABLE judge_calibrations (
    calibration_id   VARCHAR NOT NULL,
    judge_model      VARCHAR NOT NULL,     -- the judge the verdicts came from
    rubric           VARCHAR NOT NULL,     -- the llm-rubric text ('*': every rubric pooled)
    labels_path      VARCHAR NOT NULL,
    labels_hash      VARCHAR NOT NULL,     -- SHA-256 of the labels file's bytes
    n                INTEGER NOT NULL,     -- outputs with both a human and a judge verdict
    kappa            DOUBLE,               -- Cohen's kappa; NULL when undefined
    tpr              DOUBLE,
    tnr              DOUBLE,
    min_kappa        DOUBLE NOT NULL,      -- the threshold in force (judge_min_kappa)
    calibrated       BOOLEAN NOT NULL,
    agreement        JSON NOT NULL,        -- the whole agreement row, as --json prints it
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (calibration_id, rubric)
);
