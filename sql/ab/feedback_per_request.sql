-- Feedback known by the as-of moment, one row per request it is about.
CREATE OR REPLACE TEMP TABLE ab_feedback AS
SELECT
    request_id,
    count(value) FILTER (WHERE kind = 'thumbs')           AS thumbs,
    coalesce(sum(value) FILTER (WHERE kind = 'thumbs'), 0) AS thumbs_up,
    count(value) FILTER (WHERE kind = 'rating')           AS ratings,
    coalesce(sum(value ORDER BY feedback_id) FILTER (WHERE kind = 'rating'), 0) AS rating_sum,  -- ordered: a fixed float sum
    bool_or(kind = 'correction')                          AS corrected
FROM feedback
WHERE ts < coalesce($as_of, 'infinity'::TIMESTAMPTZ)
  AND ts >= $earliest
GROUP BY request_id;
