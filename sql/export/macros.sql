-- Shared selections of the exports (temporary macros on the export's connection).

-- The latest correction of each request: the one with the newest timestamp (ties: highest id).
CREATE OR REPLACE TEMP MACRO fw_latest_corrections() AS TABLE
    SELECT request_id, ts AS feedback_ts, corrected_output
    FROM feedback
    WHERE kind = 'correction' AND corrected_output IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY ts DESC, feedback_id DESC) = 1;
