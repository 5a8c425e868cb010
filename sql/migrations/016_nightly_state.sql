-- State the nightly keeps so that each night reads that night (issue 22: O(night), not O(history)).

-- The compact state of the nightly export parts: the dedup keys of every example each night's
-- part wrote (fine-tuning and preferences: the exact and the normalized key; hard examples: the
-- case key), so a night's export reads only that night's feedback and still drops what an
-- earlier night already exported. Derived: a re-run of a night replaces that night's rows.
CREATE TABLE export_keys (
    kind      VARCHAR NOT NULL,   -- finetune | preferences | hard-examples
    night     DATE NOT NULL,      -- the night whose part wrote the example
    key_kind  VARCHAR NOT NULL,   -- exact | normalized | case
    key       VARCHAR NOT NULL,   -- sha256 hex (tasks/export/_text.py)
    PRIMARY KEY (kind, night, key_kind, key)
);

-- The files the ingest has seen, by path: their size and modification time when their content
-- was last found in the ledger (ingested, or a copy of content ingested before). A file whose
-- path, size and modification time are here is skipped without being read; any other file is
-- hashed and looked up in the ledger by content, as before.
CREATE TABLE ingest_files_seen (
    path        VARCHAR PRIMARY KEY,   -- absolute
    size_bytes  BIGINT NOT NULL,
    mtime_ns    BIGINT NOT NULL,
    sha256      VARCHAR NOT NULL       -- the ledger's row for its content
);

-- Feedback whose request has not arrived (yet), kept up to date by each ingest from what it
-- inserted (new feedback without its request joins; new requests resolve theirs), so counting
-- them does not join all feedback with all requests.
CREATE TABLE ingest_orphans (
    feedback_id VARCHAR PRIMARY KEY,
    request_id  VARCHAR NOT NULL
);

INSERT INTO ingest_orphans
SELECT f.feedback_id, f.request_id FROM feedback AS f
WHERE NOT EXISTS (SELECT 1 FROM requests AS r WHERE r.request_id = f.request_id);

-- Per night and prompt version, how many requests had each input and output length (tokens):
-- with monitor_metrics, what the monitoring's baseline nights need, so a night reads only its
-- own requests. Derived: a re-run of a night replaces that night's rows.
CREATE TABLE monitor_token_counts (
    run_date     DATE NOT NULL,
    prompt_name  VARCHAR,
    prompt_hash  VARCHAR,
    model        VARCHAR NOT NULL,
    measure      VARCHAR NOT NULL,   -- input_tokens | output_tokens
    tokens       DOUBLE NOT NULL,
    requests     BIGINT NOT NULL
);
