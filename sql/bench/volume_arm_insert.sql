INSERT INTO vol_arms VALUES ($experiment, $share, $variants, $cum_weights);
