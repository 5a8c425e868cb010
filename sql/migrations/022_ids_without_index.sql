-- requests and feedback without their PRIMARY KEY indexes. DuckDB keeps such an index (an ART
-- over every stored id) in memory for each insert and writes it again at every checkpoint, so a
-- night's ingest grew with the whole history (at 150,000 requests a day: 1.2 of 4.5 CPU seconds
-- on the sixth night, in commits alone). Ingest keeps ids unique by looking each staged id up
-- among the stored records within a day of the staged records' time span (ID_LOOKUP_MARGIN in
-- tasks/ingest/_stage.py; docs/contracts.md, docs/scaling.md): a record seen again is a
-- duplicate, seen again with other content a conflict. The tables are rebuilt in their stored
-- order (the store stays in time order).

ALTER TABLE requests RENAME TO requests_with_key;

CREATE TABLE requests (
    request_id        VARCHAR NOT NULL,
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

INSERT INTO requests SELECT * FROM requests_with_key;

DROP TABLE requests_with_key;

ALTER TABLE feedback RENAME TO feedback_with_key;

CREATE TABLE feedback (
    feedback_id      VARCHAR NOT NULL,
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

INSERT INTO feedback SELECT * FROM feedback_with_key;

DROP TABLE feedback_with_key;

-- request_prompt_versions (021) names requests and is bound when it is read: it reads the new
-- table.
