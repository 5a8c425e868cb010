-- The prompt registry: immutable content-addressed versions, movable labels, label history.

CREATE TABLE prompt_versions (
    hash        VARCHAR PRIMARY KEY,     -- full 64-hex SHA-256 of the canonical content (§3)
    name        VARCHAR NOT NULL,        -- the name it was first registered under
    content     JSON NOT NULL,           -- canonical content: model, template, system, params, few_shot
    metadata    JSON,                    -- description, author, tags, source file
    first_seen  TIMESTAMPTZ NOT NULL
);

-- The same content may be registered under several names: each (name, hash) pair is kept.
CREATE TABLE prompt_names (
    name        VARCHAR NOT NULL,
    hash        VARCHAR NOT NULL,
    source_file VARCHAR,
    first_seen  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (name, hash)
);

CREATE TABLE prompt_labels (
    name        VARCHAR NOT NULL,
    label       VARCHAR NOT NULL,
    hash        VARCHAR NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (name, label)
);

CREATE SEQUENCE label_history_seq;

-- Append-only: every label move, newest has the highest move_id.
CREATE TABLE label_history (
    move_id     BIGINT PRIMARY KEY DEFAULT nextval('label_history_seq'),
    name        VARCHAR NOT NULL,
    label       VARCHAR NOT NULL,
    from_hash   VARCHAR,                 -- NULL for the move that created the label
    to_hash     VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,        -- promote | rollback
    moved_at    TIMESTAMPTZ NOT NULL,
    moved_by    VARCHAR NOT NULL,
    reason      VARCHAR
);
