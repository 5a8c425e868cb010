-- Benchmark feedback: thumbs on 25% of requests (up with probability 0.6·taste, +5% in arm b),
-- ratings on 6%, corrections on 2%.
INSERT INTO feedback
SELECT
    'f' || k.kind || r.request_id, r.request_id, r.ts + INTERVAL 5 MINUTE, k.kind,
    CASE k.kind
        WHEN 'thumbs' THEN CASE WHEN hash(r.request_id, 'up') % 10000 / 10000.0
                                     < 0.6 * u.taste * CASE r.variant WHEN 'b' THEN 1.05 ELSE 1 END
                                THEN 1 ELSE 0 END
        WHEN 'rating' THEN 1 + hash(r.request_id, 'rt') % 5
    END,
    CASE k.kind WHEN 'correction' THEN 'fixed' END,
    NULL, r.user_id, 'bench', now()
FROM requests AS r
JOIN bench_users AS u USING (user_id)
CROSS JOIN (VALUES ('thumbs', 25), ('rating', 6), ('correction', 2)) AS k(kind, percent)
WHERE hash(r.request_id, k.kind) % 100 < k.percent;
