-- Shared selections of the exports (temporary macros on the export's connection).

-- The latest correction of each request: the one with the newest timestamp (ties: highest id).
CREATE OR REPLACE TEMP MACRO fw_latest_corrections() AS TABLE
    SELECT request_id, ts AS feedback_ts, corrected_output
    FROM feedback
    WHERE kind = 'correction' AND corrected_output IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY ts DESC, feedback_id DESC) = 1;

-- The prompt version a request's logged prompt_hash (full, or a prefix of >= 12 hex) names:
-- n_versions 0 = unknown, 1 = resolved, more = ambiguous.
CREATE OR REPLACE TEMP MACRO fw_request_versions() AS TABLE
    SELECT r.request_id, count(*) AS n_versions, min(v.hash) AS version_hash,
           min(v.content::VARCHAR) AS version_content
    FROM requests AS r
    JOIN prompt_versions AS v ON starts_with(v.hash, lower(r.prompt_hash))
    WHERE r.prompt_hash IS NOT NULL
    GROUP BY r.request_id;
