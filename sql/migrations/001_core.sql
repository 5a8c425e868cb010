-- The core store: production requests, user feedback, quarantined records and the ingest ledger.

CREATE TABLE requests (
    request_id        VARCHAR PRIMARY KEY,
    ts                TIMESTAMPTZ NOT NULL,
    user_id           VARCHAR NOT NULL,
    session_id        VARCHAR,
    experiment        VARCHAR,
    variant           VARCHAR,
    prompt_name       VARCHAR,
    prompt_hash       VARCHAR,          -- as logged: a full hash or a prefix of >= 12 hex chars
    model             VARCHAR NOT NULL,
    input             JSON,
    messages          JSON,
    output            VARCHAR,
    latency_ms        DOUBLE,
    prompt_tokens     BIGINT,
    completion_tokens BIGINT,
    cost_usd          DOUBLE,
    cost_estimated    BOOLEAN NOT NULL DEFAULT false,  -- true: computed from the price table
    error             VARCHAR,
    metadata          JSON,
    source_file       VARCHAR NOT NULL,
    ingested_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE feedback (
    feedback_id      VARCHAR PRIMARY KEY,
    request_id       VARCHAR NOT NULL,   -- may name a request that has not arrived yet
    ts               TIMESTAMPTZ NOT NULL,
    kind             VARCHAR NOT NULL,   -- thumbs | rating | correction | comment
    value            DOUBLE,             -- thumbs: 1 up / 0 down; rating: 1..5
    corrected_output VARCHAR,
    comment          VARCHAR,
    user_id          VARCHAR,
    source_file      VARCHAR NOT NULL,
    ingested_at      TIMESTAMPTZ NOT NULL
);

CREATE SEQUENCE rejected_records_seq;

CREATE TABLE rejected_records (
    rejected_id   BIGINT PRIMARY KEY DEFAULT nextval('rejected_records_seq'),
    file          VARCHAR NOT NULL,
    file_sha256   VARCHAR NOT NULL,
    line_no       BIGINT NOT NULL,     -- 1-based line (Parquet: 1-based row)
    kind          VARCHAR NOT NULL,    -- requests | feedback
    raw           VARCHAR NOT NULL,    -- the line as read, cut to reject_raw_max_chars
    raw_truncated BOOLEAN NOT NULL,
    reason        VARCHAR NOT NULL,
    rejected_at   TIMESTAMPTZ NOT NULL
);

-- One row per file content ingested successfully: a file whose sha256 is here is skipped.
CREATE TABLE ingest_ledger (
    sha256       VARCHAR PRIMARY KEY,
    path         VARCHAR NOT NULL,
    size_bytes   BIGINT NOT NULL,
    kind         VARCHAR NOT NULL,
    format       VARCHAR NOT NULL,
    rows_read    BIGINT NOT NULL,
    inserted     BIGINT NOT NULL,
    duplicates   BIGINT NOT NULL,
    rejected     BIGINT NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL
);

-- Files that could not be read at all (truncated gzip, corrupt Parquet, a folder named like a
-- file). Retried on every run; one row per path, updated in place.
CREATE TABLE ingest_failures (
    path        VARCHAR PRIMARY KEY,
    reason      VARCHAR NOT NULL,
    attempts    INTEGER NOT NULL,
    first_seen  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL
);
