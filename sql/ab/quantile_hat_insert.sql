INSERT INTO ab_quantile_hat VALUES ($experiment, $variant, $metric, $q_hat);
