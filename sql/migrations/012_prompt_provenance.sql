-- Where a generated prompt version came from (tasks/optimize, docs/optimize.md): one row per
-- version flywheel built from its own feedback. A version written by a person has no row.
CREATE TABLE prompt_provenance (
    hash            VARCHAR PRIMARY KEY,     -- the generated version (prompt_versions.hash)
    name            VARCHAR NOT NULL,
    parent_hash     VARCHAR NOT NULL,        -- the version it was built on (production then)
    method          VARCHAR NOT NULL,        -- fewshot | rewrite | all
    feedback_ids    JSON NOT NULL,           -- the corrections it was built from
    feedback_days   JSON NOT NULL,           -- the UTC days those corrections were given on
    excluded_cases  JSON NOT NULL,           -- eval cases whose near-duplicates were kept out
    optimizer_model VARCHAR,                 -- the rewrite's model (NULL for few-shot only)
    cost_usd        DOUBLE,                  -- the optimizer call's cost (0 from the cache)
    source_file     VARCHAR NOT NULL,        -- its file under prompts/
    built_for       DATE,                    -- the night it was proposed for
    details         JSON NOT NULL,           -- counts, redactions, the optimizer's usage
    created_at      TIMESTAMPTZ NOT NULL
);
