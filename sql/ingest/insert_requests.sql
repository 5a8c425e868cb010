-- New, valid requests of one staged file. A request id already stored is a duplicate (repeats
-- inside the file were removed by stage_dedupe_requests); stored requests are looked for between
-- $lo and $hi (ingest/stage_span.sql). A missing cost is computed from the
-- price table, matching a model exactly or by its longest dated prefix
-- (gpt-4o-mini-2024-07-18 → gpt-4o-mini).
WITH model_price AS (
    SELECT m.model, arg_max(p.input_per_m, length(p.model)) AS input_per_m,
           arg_max(p.output_per_m, length(p.model)) AS output_per_m
    FROM (SELECT DISTINCT model FROM stage WHERE reason IS NULL AND source_file = $file) AS m
    JOIN ingest_prices AS p ON m.model = p.model OR starts_with(m.model, p.model || '-')
    GROUP BY m.model
), fresh AS (
    SELECT s.*
    FROM stage AS s
    WHERE s.source_file = $file AND s.reason IS NULL
      AND NOT EXISTS (SELECT 1 FROM requests AS r
                      WHERE r.ts BETWEEN $lo AND $hi AND r.request_id = s.request_id)
)
INSERT INTO requests BY NAME
SELECT f.request_id, f.ts, f.user_id, f.session_id, f.experiment, f.variant, f.prompt_name,
       f.prompt_hash, f.model, f.input, f.messages, f.output, f.latency_ms, f.prompt_tokens,
       f.completion_tokens,
       CASE WHEN f.cost_usd IS NOT NULL THEN f.cost_usd
            WHEN f.prompt_tokens IS NULL AND f.completion_tokens IS NULL THEN NULL
            ELSE (coalesce(f.prompt_tokens, 0) * mp.input_per_m
                  + coalesce(f.completion_tokens, 0) * mp.output_per_m) / 1e6
       END AS cost_usd,
       f.cost_usd IS NULL AND mp.model IS NOT NULL
           AND (f.prompt_tokens IS NOT NULL OR f.completion_tokens IS NOT NULL) AS cost_estimated,
       f.error, f.metadata, $file AS source_file, $now AS ingested_at
FROM fresh AS f
LEFT JOIN model_price AS mp ON mp.model = f.model;
