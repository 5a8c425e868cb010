-- The latest requests of each arm of one experiment that got a comment or a correction (up to
-- $per_arm each): what users said, beside what they were told. Only requests from $since on
-- (at the earliest the experiment's start) and feedback from $feedback_early before are read
-- (FEEDBACK_EARLY_LIMIT): the report asks for the last nights first and reaches further back
-- only for an arm still short (tasks/reports/_evidence.py), so a night reads a night.
WITH said AS (
    SELECT request_id,
           max(corrected_output) FILTER (WHERE kind = 'correction') AS correction,
           max(comment) FILTER (WHERE kind = 'comment')             AS comment,
           max(value) FILTER (WHERE kind = 'thumbs')                AS thumbs,
           max(value) FILTER (WHERE kind = 'rating')                AS rating
    FROM feedback
    WHERE ts >= $since - $feedback_early AND ts < $as_of
    GROUP BY request_id
    HAVING correction IS NOT NULL OR comment IS NOT NULL
)
SELECT coalesce(r.variant, '(missing)') AS grp, r.request_id, r.ts, r.input::VARCHAR AS input,
       r.output, s.correction, s.comment, s.thumbs, s.rating
FROM requests AS r
JOIN said AS s USING (request_id)
WHERE r.experiment = $experiment AND r.ts >= $since AND r.ts < $as_of
QUALIFY row_number() OVER (PARTITION BY grp ORDER BY r.ts DESC, r.request_id) <= $per_arm
ORDER BY grp, r.ts DESC, r.request_id;
