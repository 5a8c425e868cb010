-- The request-link report's state (issue 22: a night's `prompts sync` reads the requests
-- ingested since the last report, not every request). One row per logged (prompt_hash,
-- prompt_name), NULLs included: its requests, first and last ts and its first examples by
-- (ts, request_id). Resolution against the registry stays at query time
-- (registry/link_pairs_resolve.sql), so requests link up as soon as their prompt is registered.
-- Derived from requests: tasks/registry/_links.py adds what was ingested after the mark, and
-- rebuilds the table when the store holds other rows than the mark plus those ingested since.
CREATE TABLE request_link_pairs (
    prompt_hash  VARCHAR,
    prompt_name  VARCHAR,
    requests     BIGINT NOT NULL,
    first_ts     TIMESTAMPTZ NOT NULL,
    last_ts      TIMESTAMPTZ NOT NULL,
    examples     STRUCT(ts TIMESTAMPTZ, request_id VARCHAR)[] NOT NULL
);
CREATE TABLE request_link_state (
    id                INTEGER PRIMARY KEY,   -- always 1
    ingested_through  TIMESTAMPTZ,           -- the latest ingested_at taken in (NULL: none)
    requests_seen     BIGINT NOT NULL        -- the store's requests then
);
