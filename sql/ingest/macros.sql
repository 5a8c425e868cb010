-- Validation rules shared by the fast path (read_json) and the line-by-line path (read_text).
-- Each macro returns NULL for a good record, else a reason a person can act on.

CREATE OR REPLACE TEMP MACRO fw_clip(v) AS
    CASE WHEN length(v) > 60 THEN left(v, 60) || '…' ELSE v END;

-- A field given with a JSON type that does not convert to the column's type (the raw line is
-- only looked at again when the converted value is missing).
CREATE OR REPLACE TEMP MACRO fw_wrong_type(raw, key, converted, expected) AS
    CASE WHEN converted IS NULL THEN
        CASE WHEN coalesce(json_type(raw, '$.' || key), 'NULL') <> 'NULL'
             THEN key || ': expected ' || expected || ', got ' || fw_clip(json_extract(raw, '$.' || key)::VARCHAR)
        END
    END;

CREATE OR REPLACE TEMP MACRO fw_messages_reason(messages) AS
    CASE
        WHEN json_type(messages) <> 'ARRAY' THEN 'messages: expected an array of {role, content}'
        WHEN NOT coalesce(list_bool_and(list_transform(
                 json_extract(messages, '$[*]'),
                 lambda m: coalesce(json_type(m) = 'OBJECT'
                      AND json_extract_string(m, '$.role') IN
                          ('system', 'developer', 'user', 'assistant', 'tool', 'function'), false))), false)
             THEN 'messages: every message needs a role (system, developer, user, assistant, tool)'
    END;

-- A record's timestamp: present, ISO 8601, a real UTC offset (-14:00 to +14:00; DuckDB reads
-- +25:00 as a day's shift), and within 1970-2199 (year 0001 or 9999 is a placeholder or a bug,
-- and would stretch every window and chart). NULL when it is fine.
CREATE OR REPLACE TEMP MACRO fw_timestamp_reason(ts_text) AS
    CASE
        WHEN ts_text IS NULL THEN 'missing required field timestamp'
        WHEN try_cast(ts_text AS TIMESTAMPTZ) IS NULL
            THEN 'timestamp: not an ISO 8601 date-time: ' || fw_clip(ts_text)
        WHEN regexp_matches(ts_text, '[+-]\d{2}:?\d{2}$')
             AND (regexp_extract(ts_text, '[+-](\d{2}):?(\d{2})$', 1)::INTEGER * 60
                  + regexp_extract(ts_text, '[+-](\d{2}):?(\d{2})$', 2)::INTEGER > 14 * 60
                  OR regexp_extract(ts_text, '[+-](\d{2}):?(\d{2})$', 2)::INTEGER > 59)
            THEN 'timestamp: UTC offset out of range (-14:00 to +14:00): ' || fw_clip(ts_text)
        WHEN NOT year(try_cast(ts_text AS TIMESTAMPTZ) AT TIME ZONE 'UTC') BETWEEN 1970 AND 2199
            THEN 'timestamp: year outside 1970-2199: ' || fw_clip(ts_text)
    END;

CREATE OR REPLACE TEMP MACRO fw_request_reason(
        parse_error, request_id, ts_text, user_id, model, input, messages,
        latency_ms, prompt_tokens, completion_tokens, cost_usd, prompt_hash) AS
    CASE
        WHEN parse_error IS NOT NULL THEN parse_error
        WHEN request_id IS NULL OR request_id = '' THEN 'missing required field request_id'
        WHEN fw_timestamp_reason(ts_text) IS NOT NULL THEN fw_timestamp_reason(ts_text)
        WHEN user_id IS NULL OR user_id = '' THEN 'missing required field user_id'
        WHEN model IS NULL OR model = '' THEN 'missing required field model'
        WHEN input IS NULL AND messages IS NULL THEN 'needs input or messages (neither is present)'
        WHEN input IS NOT NULL AND json_type(input) NOT IN ('OBJECT', 'NULL')
            THEN 'input: expected an object of template variables'
        WHEN messages IS NOT NULL AND json_type(messages) <> 'NULL' THEN fw_messages_reason(messages)
        WHEN latency_ms < 0 THEN 'latency_ms: must be >= 0, got ' || latency_ms
        WHEN prompt_tokens < 0 THEN 'prompt_tokens: must be >= 0, got ' || prompt_tokens
        WHEN completion_tokens < 0 THEN 'completion_tokens: must be >= 0, got ' || completion_tokens
        WHEN cost_usd < 0 THEN 'cost_usd: must be >= 0, got ' || cost_usd
        WHEN prompt_hash IS NOT NULL AND NOT regexp_full_match(prompt_hash, '[0-9a-fA-F]{12,64}')
            THEN 'prompt_hash: expected 12 to 64 hex characters, got ' || fw_clip(prompt_hash)
    END;

-- thumbs: 1/0, true/false, "up"/"down"; rating: a number. NULL when it cannot be read.
CREATE OR REPLACE TEMP MACRO fw_feedback_value(kind, value) AS
    CASE
        WHEN value IS NULL OR json_type(value) = 'NULL' THEN NULL
        WHEN kind = 'thumbs' THEN
            CASE lower(json_extract_string(value, '$'))
                WHEN 'up' THEN 1.0 WHEN '1' THEN 1.0 WHEN 'true' THEN 1.0 WHEN '1.0' THEN 1.0
                WHEN 'down' THEN 0.0 WHEN '0' THEN 0.0 WHEN 'false' THEN 0.0 WHEN '0.0' THEN 0.0
            END
        WHEN kind = 'rating' AND json_type(value) <> 'BOOLEAN'
            THEN try_cast(json_extract_string(value, '$') AS DOUBLE)
    END;

CREATE OR REPLACE TEMP MACRO fw_feedback_reason(
        parse_error, feedback_id, request_id, ts_text, kind, value, corrected_output, comment) AS
    CASE
        WHEN parse_error IS NOT NULL THEN parse_error
        WHEN feedback_id IS NULL OR feedback_id = '' THEN 'missing required field feedback_id'
        WHEN request_id IS NULL OR request_id = '' THEN 'missing required field request_id'
        WHEN fw_timestamp_reason(ts_text) IS NOT NULL THEN fw_timestamp_reason(ts_text)
        WHEN kind IS NULL THEN 'missing required field kind'
        WHEN kind NOT IN ('thumbs', 'rating', 'correction', 'comment')
            THEN 'kind: unknown feedback kind ' || fw_clip(kind)
                 || ' (expected thumbs, rating, correction or comment)'
        WHEN kind = 'thumbs' AND fw_feedback_value(kind, value) IS NULL
            THEN 'value: thumbs needs 1/0 or "up"/"down", got ' || coalesce(fw_clip(value::VARCHAR), 'nothing')
        WHEN kind = 'rating' AND fw_feedback_value(kind, value) IS NULL
            THEN 'value: rating needs a number from 1 to 5, got ' || coalesce(fw_clip(value::VARCHAR), 'nothing')
        WHEN kind = 'rating' AND NOT fw_feedback_value(kind, value) BETWEEN 1 AND 5
            THEN 'value: rating must be from 1 to 5, got ' || fw_clip(value::VARCHAR)
        WHEN kind = 'correction' AND (corrected_output IS NULL OR corrected_output = '')
            THEN 'correction without corrected_output'
        WHEN kind = 'comment' AND (comment IS NULL OR comment = '')
            THEN 'comment without comment text'
    END;

-- The non-blank lines of stage_lines, each parsed once: is it a JSON object, and if not, why.
-- Blank lines (JSON whitespace only) are not records; only lines starting blank are trimmed.
-- (A table macro is checked when it is created: an empty stage_lines stands in until a file's
-- lines replace it.)
CREATE TEMP TABLE IF NOT EXISTS stage_lines (line_no BIGINT, raw VARCHAR);
CREATE OR REPLACE TEMP MACRO fw_parsed_lines() AS TABLE
    SELECT line_no, raw, coalesce(json_kind = 'OBJECT', false) AS is_object,
           CASE WHEN json_kind IS NULL THEN 'not valid JSON'
                WHEN json_kind <> 'OBJECT' THEN 'not a JSON object (got ' || lower(json_kind) || ')'
           END AS parse_error
    FROM (
        SELECT line_no, raw, try(json_type(raw)) AS json_kind
        FROM stage_lines
        WHERE CASE WHEN raw = '' THEN false
                   WHEN left(raw, 1) IN (' ', chr(9)) THEN trim(raw, chr(32) || chr(9)) <> ''
                   ELSE true END
    );
