-- How far back the exports read for the window [$since, $until): from the earliest request with
-- feedback in it (requests), and from $feedback_early before that (feedback dated earlier than
-- that before its request does not count: FEEDBACK_EARLY_LIMIT). One narrow scan of the
-- requests' ids and times; the exports' reads of the wide columns then skip the row groups
-- before these bounds. A window without feedback reads nothing: both bounds are then $until
-- (or now).
SELECT coalesce(min(r.ts), $until, now())                          AS requests_from,
       coalesce(min(r.ts), $until, now()) - $feedback_early        AS feedback_from
FROM requests AS r
WHERE r.request_id IN (SELECT request_id FROM fw_window_requests($since, $until));
