-- Production-volume benchmark: the feedback whose time falls in [$day_start, $day_end) as native
-- JSONL at $path (feedback after a request's day lands in the next day's file).
COPY (
    SELECT feedback_id, request_id, user_id,
           strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS "timestamp",
           kind, value, corrected_output, comment
    FROM vol_feedback
    WHERE ts >= $day_start::TIMESTAMPTZ AND ts < $day_end::TIMESTAMPTZ
    ORDER BY ts
) TO $path (FORMAT json);
