-- Adaptive allocation (docs/statistics.md, "Adaptive allocation"): the weights of every arm of a
-- bandit experiment per period. The night of run_date computes the weights that apply from
-- starts_on (= run_date + 1, 00:00 UTC) until the next row's starts_on; before the first row the
-- experiment file's declared weights apply. A night analysed again replaces its own rows.

CREATE TABLE ab_allocations (
    experiment     VARCHAR NOT NULL,
    starts_on      DATE NOT NULL,         -- the first day these weights apply to (UTC)
    run_date       DATE NOT NULL,         -- the night that computed them
    period         INTEGER NOT NULL,      -- days from the experiment's start to starts_on
    variant        VARCHAR NOT NULL,
    weight         DOUBLE NOT NULL,
    method         VARCHAR NOT NULL,      -- thompson | top-two | track-and-stop
    phase          VARCHAR NOT NULL,      -- burn-in | adaptive | done | no-data
    prob_best      DOUBLE,                -- P(arm is best), from the stratified posterior
    expected_loss  DOUBLE,                -- E[loss of choosing the arm], relative to the control
    seed           UBIGINT NOT NULL,      -- the night's Monte Carlo seed
    note           VARCHAR,
    computed_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (experiment, starts_on, variant)
);
