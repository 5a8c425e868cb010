-- The A/B analysis's nightly state (issue 22: a night reads that night, not the experiment's
-- history). Per experiment, the mark of what its stored per-user-night sums (ab_user_nights,
-- created by the analysis from the metric declarations: tasks/ab/_state.py) have taken in: the
-- as-of moment they were computed for, the last ingest they saw and the rows the store held. Derived: a re-run of the
-- same night changes nothing; an earlier night is analysed from the raw logs without touching it.
CREATE TABLE ab_state (
    experiment        VARCHAR PRIMARY KEY,
    config_key        VARCHAR NOT NULL,      -- variants, weights, window, lookback, metric sums
    as_of             TIMESTAMPTZ NOT NULL,  -- the sums hold feedback with ts < as_of
    ingested_through  TIMESTAMPTZ,           -- the latest ingested_at they have seen (NULL: none)
    requests_seen     BIGINT NOT NULL,       -- the store's rows then: fewer now, plus those
    feedback_seen     BIGINT NOT NULL,       -- ingested since, means rows were deleted (rebuild)
    computed_at       TIMESTAMPTZ NOT NULL
);
