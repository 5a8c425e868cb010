-- The input and output lengths (prompt_tokens, completion_tokens of successful requests) of the
-- window, as counts: per night and prompt version, how many requests had each length. From the
-- requests read by window.sql, and for the nights in $stored their stored counts.
CREATE OR REPLACE TEMP TABLE monitor_window_tokens AS
SELECT prompt_name, prompt_hash, model, measure, night, x, count(*) AS n
FROM (
    SELECT prompt_name, prompt_hash, model, 'input_tokens' AS measure, night,
           CAST(prompt_tokens AS DOUBLE) AS x
    FROM monitor_window WHERE prompt_tokens IS NOT NULL
    UNION ALL
    SELECT prompt_name, prompt_hash, model, 'output_tokens', night,
           CAST(completion_tokens AS DOUBLE)
    FROM monitor_window WHERE completion_tokens IS NOT NULL AND error IS NULL
)
GROUP BY ALL
UNION ALL
SELECT prompt_name, prompt_hash, model, measure, run_date, tokens, requests
FROM monitor_token_counts
WHERE list_contains(CAST($stored AS DATE[]), run_date);
