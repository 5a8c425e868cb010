-- The corrected pairs of one prompt as of a moment, ranked for few-shot curation and the
-- rewrite: one row per distinct input (normalized: case and white space ignored), with
--   failures     how often requests with this input got a thumbs-down, a rating <= 2 or a
--                correction (the inputs that fail most come first);
--   corrected    the correction given most often for it (ties: the newest);
--   feedback_ids every correction of it that agrees with that text (provenance).
-- Only corrections given before $until count; requests of the prompt name $name only.
WITH requests_of AS (
    SELECT r.request_id, r.input, r.output,
           regexp_replace(lower(trim(r.input::VARCHAR)), '\s+', ' ', 'g') AS input_key
    FROM requests AS r
    WHERE r.prompt_name = $name AND r.ts < $until AND r.input IS NOT NULL AND r.error IS NULL
),
signals AS (
    SELECT f.request_id, f.feedback_id, f.ts, f.kind, f.corrected_output
    FROM feedback AS f
    JOIN requests_of AS q USING (request_id)
    WHERE f.ts < $until
      AND ((f.kind = 'thumbs' AND f.value = 0) OR (f.kind = 'rating' AND f.value <= 2)
           OR (f.kind = 'correction' AND f.corrected_output IS NOT NULL))
),
failures AS (
    SELECT q.input_key, count(DISTINCT s.request_id) AS failures
    FROM signals AS s JOIN requests_of AS q USING (request_id)
    GROUP BY q.input_key
),
corrections AS (
    SELECT q.input_key, s.corrected_output AS corrected, s.feedback_id, s.ts,
           date_trunc('day', s.ts AT TIME ZONE 'UTC')::DATE AS day
    FROM signals AS s JOIN requests_of AS q USING (request_id)
    WHERE s.kind = 'correction'
),
ranked AS (
    SELECT input_key, corrected, count(*) AS agreeing, max(ts) AS newest,
           list(feedback_id ORDER BY feedback_id) AS feedback_ids,
           list(DISTINCT day ORDER BY day) AS days,
           row_number() OVER (PARTITION BY input_key
                              ORDER BY count(*) DESC, max(ts) DESC, corrected) AS pick
    FROM corrections
    GROUP BY input_key, corrected
),
example AS (
    -- one logged input and output per key: the newest failing request's
    SELECT q.input_key, q.input::VARCHAR AS input, q.output
    FROM requests_of AS q JOIN signals AS s USING (request_id)
    QUALIFY row_number() OVER (PARTITION BY q.input_key ORDER BY s.ts DESC, q.request_id) = 1
)
SELECT k.input_key, e.input, e.output, k.corrected, k.agreeing, f.failures,
       k.feedback_ids, k.days
FROM ranked AS k
JOIN failures AS f USING (input_key)
JOIN example AS e USING (input_key)
WHERE k.pick = 1
ORDER BY f.failures DESC, k.agreeing DESC, k.input_key
LIMIT $pool;
