INSERT INTO ab_quantile_hat VALUES ($experiment, $variant, $q1, $q2);
