-- Benchmark requests: $requests rows; the first $pre_share of them fall in the 14 days before
-- the experiments start (no experiment field), the rest in the 14 days after.
INSERT INTO requests
SELECT
    'r' || r.range                                                        AS request_id,
    CASE WHEN r.range < $requests * $pre_share
         THEN $start::TIMESTAMPTZ - INTERVAL 14 DAY ELSE $start::TIMESTAMPTZ END
      + to_seconds((hash(r.range, 'ts') % 1209600)::BIGINT)               AS ts,
    u.user_id,
    NULL                                                                  AS session_id,
    CASE WHEN r.range < $requests * $pre_share THEN NULL ELSE u.experiment END,
    CASE WHEN r.range < $requests * $pre_share THEN NULL ELSE u.variant END,
    'support', NULL, 'gpt-4o-mini', NULL, NULL, 'ok',
    exp(6.6 + 0.45 * sqrt(-2 * ln(greatest((hash(r.range, 'l1') % 1000000 + 1) / 1000001.0, 1e-9)))
          * cos(2 * pi() * (hash(r.range, 'l2') % 1000000) / 1000000.0)
        + CASE u.variant WHEN 'b' THEN 0.05 ELSE 0 END)                   AS latency_ms,
    100 + hash(r.range, 'pt') % 50                                        AS prompt_tokens,
    30 + hash(r.range, 'ct') % 40                                         AS completion_tokens,
    0.0001                                                                AS cost_usd,
    false,
    CASE WHEN hash(r.range, 'err') % 100 = 0 THEN 'upstream timeout' END  AS error,
    NULL, 'bench', now()
FROM range($requests) AS r
JOIN bench_users AS u ON u.i = hash(r.range, 'user') % $users;
