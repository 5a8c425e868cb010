-- The export ledger: one row per export written (fine-tuning, preferences, hard examples).

CREATE SEQUENCE export_runs_seq;

CREATE TABLE export_runs (
    run_id          BIGINT PRIMARY KEY DEFAULT nextval('export_runs_seq'),
    kind            VARCHAR NOT NULL,      -- finetune | preferences | hard-examples
    out_dir         VARCHAR NOT NULL,
    manifest_sha256 VARCHAR NOT NULL,      -- equal to the previous run's: nothing changed
    examples        BIGINT NOT NULL,       -- lines written, all files together
    dropped         BIGINT NOT NULL,       -- candidates not written, all reasons together
    manifest        JSON NOT NULL,
    exported_at     TIMESTAMPTZ NOT NULL
);
