-- Benchmark data: $n realistic request records as JSON Lines (ids $first .. $first + $n - 1).
COPY (
    SELECT
        'req-' || i AS request_id,
        strftime(TIMESTAMP '2026-11-01' + to_seconds(i % 86400), '%Y-%m-%dT%H:%M:%S') || 'Z' AS "timestamp",
        'user-' || (hash(i) % 200000) AS user_id,
        'sess-' || (hash(i) % 500000) AS session_id,
        CASE WHEN i % 2 = 0 THEN 'tone-test' END AS experiment,
        CASE WHEN i % 2 = 0 THEN CASE WHEN hash(i) % 2 = 0 THEN 'control' ELSE 'friendly' END END AS variant,
        'support' AS prompt_name,
        '70f434f035b40e2d82b8a86fb69a0b58d4d8bc93f84c9ed1a68927cfaf897e14' AS prompt_hash,
        'gpt-4o-mini' AS model,
        {'question': 'How do I get a refund for invoice ' || i || '?', 'order_id': 'A-' || (i % 99991)} AS input,
        'You can request a refund from Billing → Invoices within 14 days of the charge. Refunds reach your card in 5 to 10 business days. Reference ' || i AS output,
        round(400 + (hash(i) % 4000) / 3.0, 1) AS latency_ms,
        60 + hash(i) % 200 AS prompt_tokens,
        20 + hash(i * 7) % 150 AS completion_tokens,
        CASE WHEN i % 5 <> 0 THEN 0.00002 END AS cost_usd,
        {'app_version': '2.14.1', 'channel': 'web'} AS metadata
    FROM range($first, $first + $n) AS t(i)
) TO $path (FORMAT json);
