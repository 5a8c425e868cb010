-- Production-volume benchmark: the $n requests of day $day (0-based), starting $day_start:
-- a user among $users, an experiment by its share, the user's arm by the assignment formula,
-- a template of that arm; $unique_pct percent get an input of their own (a reference number,
-- their messages then rendered from the prompt), the rest repeat a template's content.
CREATE OR REPLACE TABLE vol_day AS
WITH drawn AS (
    SELECT i,
           $day_start::TIMESTAMPTZ + to_milliseconds((hash($day, i, 'ts') % 86400000)::BIGINT) AS ts,
           'user-' || lpad((hash($day, i, 'user') % $users)::VARCHAR, 7, '0') AS user_id,
           hash($day, i, 'exp') % 1000 / 1000.0 AS exp_draw,
           hash($day, i, 'tmpl') AS pick,
           hash($day, i, 'uniq') % 100 < $unique_pct AS uniq
    FROM range($n) AS t(i)
),
assigned AS (
    SELECT d.*, a.experiment,
           fw_assign_variant(a.experiment, d.user_id, a.variants, a.cum_weights) AS variant
    FROM drawn AS d
    JOIN (SELECT *, sum(share) OVER (ORDER BY experiment) AS upto FROM vol_arms) AS a
      ON d.exp_draw < a.upto AND d.exp_draw >= a.upto - a.share
)
SELECT 'req_' || substr(md5($day || ':' || s.i), 1, 20) AS request_id, s.ts, s.user_id,
       'sess_' || substr(md5(s.user_id || $day), 1, 10) AS session_id, s.experiment, s.variant,
       t.prompt_name, t.prompt_hash, t.model,
       CASE WHEN NOT s.uniq THEN t.input
            WHEN json_exists(t.input, '$.question')
            THEN json_merge_patch(t.input, json_object('question',
                     (t.input->>'question') || ' (ref ' || $day || '-' || s.i || ')'))
            ELSE json_merge_patch(t.input, json_object('text',
                     (t.input->>'text') || ' Ref ' || $day || '-' || s.i || '.')) END AS input,
       CASE WHEN s.uniq THEN NULL ELSE t.messages END AS messages,
       t.output, t.latency_ms, t.prompt_tokens, t.completion_tokens, t.cost_usd, t.error,
       t.metadata, t.request_id AS template_id
FROM assigned AS s
JOIN vol_templates AS t
  ON t.experiment = s.experiment AND t.variant = s.variant
 AND t.k = s.pick % (SELECT max(n_arm) FROM vol_templates AS c
                     WHERE c.experiment = s.experiment AND c.variant = s.variant);
