INSERT INTO ab_periods VALUES ($experiment, $period, $from_ts, $to_ts, $variants, $cum_weights);
