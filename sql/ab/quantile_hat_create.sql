-- Per experiment and logged arm: the sample latency quantiles, in the order of
-- flywheel.tasks.ab.QUANTILE_METRICS (p50, p95).
CREATE OR REPLACE TEMP TABLE ab_quantile_hat (
    experiment VARCHAR, variant VARCHAR, q1 DOUBLE, q2 DOUBLE
);
