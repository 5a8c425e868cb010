-- The input and output lengths (prompt_tokens, completion_tokens of successful requests) of the
-- window, one row per request: the requests read by window.sql, and the stored counts of the
-- nights in $stored expanded back into one row per request (the same values, so the baseline's
-- deciles are the same as from the requests themselves).
CREATE OR REPLACE TEMP TABLE monitor_window_tokens AS
SELECT prompt_name, prompt_hash, model, 'input_tokens' AS measure, night,
       CAST(prompt_tokens AS DOUBLE) AS x
FROM monitor_window WHERE prompt_tokens IS NOT NULL
UNION ALL
SELECT prompt_name, prompt_hash, model, 'output_tokens', night, CAST(completion_tokens AS DOUBLE)
FROM monitor_window WHERE completion_tokens IS NOT NULL AND error IS NULL
UNION ALL
SELECT t.prompt_name, t.prompt_hash, t.model, t.measure, t.run_date, t.tokens
FROM monitor_token_counts AS t, range(t.requests)
WHERE list_contains(CAST($stored AS DATE[]), t.run_date);
