-- Operations and production monitoring: the runs log, nightly metrics per prompt version, alerts.

-- One row per (nightly run, step), written when the step starts (status running) and replaced
-- when it ends. Append-only across runs: re-running a date adds a new run_id. A row still
-- 'running' when the next run takes the nightly lock belonged to a killed run: it is marked
-- 'crashed'. The step 'nightly' is the whole night.
CREATE TABLE runs (
    run_id       VARCHAR NOT NULL,      -- the nightly flow run's id (a UUID outside Prefect)
    run_date     DATE NOT NULL,
    step         VARCHAR NOT NULL,
    status       VARCHAR NOT NULL,      -- running | ok | failed | skipped | crashed
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    seconds      DOUBLE,
    details      JSON,                  -- row counts and notes the step reported
    error        VARCHAR,
    PRIMARY KEY (run_id, step)
);

-- Per night and prompt version: what production looked like. Derived: a re-run of a night
-- replaces that night's rows. prompt_hash is the full registered hash when the logged hash (or
-- prefix) matches exactly one registered version, else the hash as logged (hash_known false).
CREATE TABLE monitor_metrics (
    run_date            DATE NOT NULL,
    prompt_name         VARCHAR,
    prompt_hash         VARCHAR,
    hash_known          BOOLEAN NOT NULL,
    model               VARCHAR NOT NULL,
    requests            BIGINT NOT NULL,
    errors              BIGINT NOT NULL,
    error_rate          DOUBLE,
    latency_n           BIGINT NOT NULL,  -- successful requests with a latency
    latency_p50_ms      DOUBLE,
    latency_p95_ms      DOUBLE,
    latency_p99_ms      DOUBLE,
    tokens_n            BIGINT NOT NULL,
    tokens_per_request  DOUBLE,
    cost_n              BIGINT NOT NULL,
    cost_per_request    DOUBLE,
    thumbs_given        BIGINT NOT NULL,
    thumbs_up           BIGINT NOT NULL,
    thumbs_up_rate      DOUBLE,
    ratings             BIGINT NOT NULL,
    mean_rating         DOUBLE,
    corrected_requests  BIGINT NOT NULL,
    correction_rate     DOUBLE,
    input_tokens_mean   DOUBLE,
    output_tokens_mean  DOUBLE
);

-- What the night's monitoring found. Derived: a re-run of a night replaces that night's alerts.
CREATE TABLE monitor_alerts (
    run_date     DATE NOT NULL,
    prompt_name  VARCHAR,
    prompt_hash  VARCHAR,
    model        VARCHAR,
    kind         VARCHAR NOT NULL,      -- drift | psi | unknown_prompt_hash | new_model
    severity     VARCHAR NOT NULL,      -- warning | critical
    metric       VARCHAR NOT NULL,
    value        DOUBLE,
    baseline     DOUBLE,                -- the baseline's centre (PSI: 0)
    limit_low    DOUBLE,
    limit_high   DOUBLE,
    message      VARCHAR NOT NULL
);
