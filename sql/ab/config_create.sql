-- The experiments under analysis, one row each (filled from the experiment files).
CREATE OR REPLACE TEMP TABLE ab_config (
    experiment    VARCHAR PRIMARY KEY,
    variants      VARCHAR[] NOT NULL,     -- in file order; the first is the control
    cum_weights   DOUBLE[] NOT NULL,      -- cumulative normalized weights, as assign_variant
    start_ts      TIMESTAMPTZ NOT NULL,
    end_ts        TIMESTAMPTZ NOT NULL,   -- min(file end, as-of), 'infinity' when open
    pre_start_ts  TIMESTAMPTZ NOT NULL    -- start of the pre-period CUPED reads
);
