-- Persist the night's token counts per prompt version (what a later night's baseline reads).
INSERT INTO monitor_token_counts
SELECT night, prompt_name, prompt_hash, model, measure, x, n
FROM monitor_window_tokens
WHERE night = $run_date;
