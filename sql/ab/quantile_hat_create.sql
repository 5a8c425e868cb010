CREATE OR REPLACE TEMP TABLE ab_quantile_hat (
    experiment VARCHAR, variant VARCHAR, metric VARCHAR, q_hat DOUBLE
);
