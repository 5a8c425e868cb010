INSERT INTO ab_config VALUES (
    $experiment, $variants, $cum_weights, $start_ts,
    coalesce($end_ts, 'infinity'::TIMESTAMPTZ), $pre_start_ts
);
