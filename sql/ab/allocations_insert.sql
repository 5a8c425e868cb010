INSERT INTO ab_allocations VALUES (
    $experiment, $starts_on, $run_date, $period, $variant, $weight, $method, $phase,
    $prob_best, $expected_loss, $seed, $note, $computed_at
);
