-- The MLflow mirror (docs/mlflow.md): what was synced to which MLflow store, and how the last
-- attempts went. MLflow itself is the truth about what it holds (runs are found by their
-- `flywheel.key` tag before anything is created); this ledger says what flywheel still has to
-- send, so that a report can say "the mirror is behind".

CREATE TABLE mlflow_mirror_items (
    tracking_uri  VARCHAR NOT NULL,     -- the MLflow tracking URI, credentials removed
    kind          VARCHAR NOT NULL,     -- eval | ab | prompt_version | alias
    item_key      VARCHAR NOT NULL,     -- eval: the eval key; ab: experiment/run_date;
                                        -- prompt_version: name/hash; alias: name@label
    fingerprint   VARCHAR NOT NULL,     -- the state synced: eval run id, md5 of the A/B report,
                                        -- version hash, the hash the label pointed at
    mlflow_ref    VARCHAR,              -- MLflow run id, or prompt name/version; NULL: not mirrorable
    note          VARCHAR,              -- why an item cannot be mirrored (e.g. an alias MLflow refuses)
    synced_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tracking_uri, kind, item_key)
);

-- One row per MLflow store: the last attempt, the last success and the last error.
CREATE TABLE mlflow_mirror_status (
    tracking_uri     VARCHAR PRIMARY KEY,
    last_attempt_at  TIMESTAMPTZ NOT NULL,
    last_success_at  TIMESTAMPTZ,          -- the last attempt that mirrored everything it tried
    last_error       VARCHAR,              -- NULL when the last attempt succeeded
    last_error_at    TIMESTAMPTZ,
    last_counts      JSON                  -- what the last attempt did (created, updated, ...)
);
