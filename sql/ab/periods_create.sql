-- The allocation periods of the bandit experiments under analysis: spans of constant weights
-- (filled from ab_allocations by tasks/ab/_bandit.py).
CREATE OR REPLACE TEMP TABLE ab_periods (
    experiment   VARCHAR NOT NULL,
    period       INTEGER NOT NULL,      -- 0, 1, ... in time order
    from_ts      TIMESTAMPTZ NOT NULL,
    to_ts        TIMESTAMPTZ NOT NULL,  -- 'infinity' for the last one
    variants     VARCHAR[] NOT NULL,
    cum_weights  DOUBLE[] NOT NULL      -- cumulative weights of the period, as assign_variant
);
