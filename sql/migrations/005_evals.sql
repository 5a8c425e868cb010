-- Offline evals: the response cache, one row per eval run, one row per (run, version, case, repeat).

-- A model response, keyed by the SHA-256 of (base URL, model, messages, params, repeat index).
-- Only successful responses are cached: an error is never replayed from here.
CREATE TABLE eval_cache (
    cache_key          VARCHAR PRIMARY KEY,
    base_url           VARCHAR NOT NULL,
    model              VARCHAR NOT NULL,     -- as requested
    output             VARCHAR NOT NULL,
    finish_reason      VARCHAR,
    response_model     VARCHAR,              -- as the endpoint reported it
    system_fingerprint VARCHAR,
    prompt_tokens      BIGINT,
    completion_tokens  BIGINT,
    latency_ms         DOUBLE,
    created_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE eval_runs (
    run_id             VARCHAR PRIMARY KEY,
    evalset_path       VARCHAR NOT NULL,
    evalset_name       VARCHAR NOT NULL,
    evalset_hash       VARCHAR NOT NULL,     -- SHA-256 of the canonical eval set (§8)
    cases              INTEGER NOT NULL,
    repeats            INTEGER NOT NULL,
    versions           JSON NOT NULL,        -- [{ref, name, hash, model, base_url}], baseline first
    baseline_hash      VARCHAR NOT NULL,
    judge_model        VARCHAR,
    trigger            VARCHAR NOT NULL,     -- manual | nightly
    started_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ NOT NULL,
    calls_total        BIGINT NOT NULL,      -- model + judge calls the run needed
    calls_cached       BIGINT NOT NULL,
    calls_http         BIGINT NOT NULL,      -- HTTP attempts, retries included
    calls_errored      BIGINT NOT NULL,
    prompt_tokens      BIGINT NOT NULL,
    completion_tokens  BIGINT NOT NULL,
    cost_usd           DOUBLE,
    demo_model         BOOLEAN NOT NULL,     -- true: some response came from flywheel's demo model
    summary            JSON                  -- the comparison, as `flywheel eval run --json` prints it
);

CREATE TABLE eval_results (
    run_id             VARCHAR NOT NULL,
    prompt_hash        VARCHAR NOT NULL,
    case_id            VARCHAR NOT NULL,
    repeat_index       INTEGER NOT NULL,
    tags               VARCHAR[] NOT NULL,
    output             VARCHAR,
    passed             BOOLEAN,              -- NULL when error is set: an error is not a failure
    score              DOUBLE,               -- NULL when error is set: never 0 for an error
    assertions         JSON,                 -- [{type, passed, score, reason}]
    error              VARCHAR,
    error_kind         VARCHAR,              -- api | scorer
    latency_ms         DOUBLE,
    prompt_tokens      BIGINT,
    completion_tokens  BIGINT,
    judge_prompt_tokens     BIGINT,
    judge_completion_tokens BIGINT,
    cost_usd           DOUBLE,
    cached             BOOLEAN NOT NULL,
    attempts           INTEGER NOT NULL,
    response_model     VARCHAR,
    system_fingerprint VARCHAR,
    PRIMARY KEY (run_id, prompt_hash, case_id, repeat_index)
);
