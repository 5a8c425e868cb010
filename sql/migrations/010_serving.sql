-- Serving and gradual rollout (docs/serving.md): ramps and their history, and the ledger of
-- serving snapshots (serving.json) written.

CREATE SEQUENCE rollout_id_seq;

-- One row per ramp. kind = experiment: the share of users enrolled in an experiment (its
-- file declares `rollout:`); kind = promotion: the share of users served the version a
-- `prompts promote --ramp` moved the label to (the others keep the version it moved from).
CREATE TABLE rollouts (
    rollout_id           BIGINT PRIMARY KEY DEFAULT nextval('rollout_id_seq'),
    kind                 VARCHAR NOT NULL,      -- experiment | promotion
    subject              VARCHAR NOT NULL,      -- the experiment name, or NAME@LABEL
    prompt_name          VARCHAR,               -- promotion only
    label                VARCHAR,               -- promotion only
    from_hash            VARCHAR,               -- promotion: the version the label moved from
    to_hash              VARCHAR,               -- promotion: the version being ramped up
    stages               DOUBLE[] NOT NULL,     -- increasing fractions in (0, 1]
    min_users_per_stage  BIGINT NOT NULL,
    guardrails           JSON NOT NULL,         -- promotion: [{metric, worse_if, max_relative_change}]
    stage                INTEGER NOT NULL,      -- 1-based index into stages; 0 = nobody
    status               VARCHAR NOT NULL,      -- ramping | complete | rolled_back | cancelled
    stage_started_at     TIMESTAMPTZ NOT NULL,
    last_decided_date    DATE,                  -- the last night that decided on it
    label_move_id        BIGINT,                -- promotion: the label_history move that started it
    created_at           TIMESTAMPTZ NOT NULL,
    created_by           VARCHAR NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE SEQUENCE rollout_history_seq;

-- Append-only: every decision on a ramp, with the numbers it was taken on.
CREATE TABLE rollout_history (
    event_id        BIGINT PRIMARY KEY DEFAULT nextval('rollout_history_seq'),
    rollout_id      BIGINT NOT NULL,
    kind            VARCHAR NOT NULL,
    subject         VARCHAR NOT NULL,
    run_date        DATE,                  -- the night that decided (NULL outside a night)
    action          VARCHAR NOT NULL,      -- start | advance | complete | hold | rollback | cancel
    from_stage      INTEGER,
    to_stage        INTEGER NOT NULL,
    from_fraction   DOUBLE,
    to_fraction     DOUBLE NOT NULL,
    reason          VARCHAR NOT NULL,
    evidence        JSON,                  -- guardrail estimates and CIs, users per arm, checks
    label_move_id   BIGINT,                -- a rollback's move in label_history
    decided_at      TIMESTAMPTZ NOT NULL,
    decided_by      VARCHAR NOT NULL
);

-- Generations only grow: nextval never hands out a number twice, even across a failed write.
CREATE SEQUENCE serving_generation_seq;

CREATE TABLE serving_snapshots (
    generation   BIGINT PRIMARY KEY,
    path         VARCHAR NOT NULL,
    sha256       VARCHAR NOT NULL,
    bytes        BIGINT NOT NULL,
    prompts      INTEGER NOT NULL,
    experiments  INTEGER NOT NULL,
    rollouts     INTEGER NOT NULL,
    reason       VARCHAR NOT NULL,
    written_at   TIMESTAMPTZ NOT NULL
);
