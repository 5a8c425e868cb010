-- Shared selections of the exports (temporary macros on the export's connection). Both read the
-- feedback of the window [since, until) (NULL: unbounded) and what is known of its requests as
-- of `until`, so a night's export reads that night and is the same when the night is run again
-- after later nights have arrived.

-- The requests with any feedback in the window (the store is in time order: the bound on ts
-- keeps the scan to the window's row groups).
CREATE OR REPLACE TEMP MACRO fw_window_requests(since, until) AS TABLE
    SELECT DISTINCT request_id FROM feedback
    WHERE (since IS NULL OR ts >= since) AND (until IS NULL OR ts < until);

-- The latest correction before `until` of each request with feedback in the window: the one
-- with the newest timestamp (ties: highest id). `feedback_from` bounds the scan: a day before
-- the earliest of those requests (export/window_bounds.sql; feedback dated more than a day
-- before its request does not count).
CREATE OR REPLACE TEMP MACRO fw_latest_corrections(since, until, feedback_from) AS TABLE
    SELECT request_id, ts AS feedback_ts, corrected_output
    FROM feedback
    WHERE kind = 'correction' AND corrected_output IS NOT NULL
      AND (until IS NULL OR ts < until) AND ts >= feedback_from
      AND request_id IN (SELECT request_id FROM fw_window_requests(since, until))
    QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY ts DESC, feedback_id DESC) = 1;
