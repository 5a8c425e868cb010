-- The (experiment, part, night) windows whose per-user sums are (re)computed: part 'pre' is
-- the CUPED pre-period (every request of a user), 'post' the experiment's own requests; a
-- window is one UTC night clipped to the part's bounds, [lo, hi).
CREATE OR REPLACE TEMP TABLE ab_changed (
    experiment  VARCHAR NOT NULL,
    part        VARCHAR NOT NULL,
    night       DATE NOT NULL,
    lo          TIMESTAMPTZ NOT NULL,
    hi          TIMESTAMPTZ NOT NULL
);
