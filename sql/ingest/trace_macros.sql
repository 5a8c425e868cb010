-- Langfuse scores and OpenTelemetry gen_ai.evaluation.result events → native feedback.
-- The mapping (docs/trace-ingest.md) depends on the score's data type and on the mode set for
-- its name in flywheel.toml [trace_scores], passed as two parallel lists.

CREATE OR REPLACE TEMP MACRO fw_score_mode(name, names, modes) AS
    coalesce(modes[list_position(names, lower(name))], 'unit');

-- A categorical label read as thumbs: 1 up, 0 down, NULL when it is neither.
CREATE OR REPLACE TEMP MACRO fw_label_polarity(label) AS
    CASE WHEN lower(trim(label)) IN ('up', 'thumbs_up', 'thumbs up', 'good', 'positive', 'yes', 'true',
                                     'pass', 'passed', 'correct', 'relevant', 'helpful', 'like', '1')
         THEN 1.0
         WHEN lower(trim(label)) IN ('down', 'thumbs_down', 'thumbs down', 'bad', 'negative', 'no', 'false',
                                     'fail', 'failed', 'incorrect', 'not_relevant', 'irrelevant',
                                     'unhelpful', 'dislike', '0')
         THEN 0.0
    END;

CREATE OR REPLACE TEMP MACRO fw_score_kind(score_type, mode, label) AS
    CASE upper(score_type)
        WHEN 'CORRECTION' THEN 'correction'
        WHEN 'NUMERIC' THEN CASE WHEN mode = 'thumbs' THEN 'thumbs' ELSE 'rating' END
        WHEN 'BOOLEAN' THEN 'thumbs'
        WHEN 'CATEGORICAL' THEN CASE WHEN fw_label_polarity(label) IS NOT NULL THEN 'thumbs' ELSE 'comment' END
    END;

-- unit: 0–1, higher is better → rating 1 + 4v (rounded to 9 decimals: 5 − 4·0.8 is not 1.8 in
-- binary floating point); unit_inverted: 0–1, lower is better → 5 − 4v;
-- rating: already 1–5; thumbs: v > 0 → up. Booleans and labels are thumbs (flipped when the
-- score is lower-is-better).
CREATE OR REPLACE TEMP MACRO fw_score_value(score_type, mode, v, label) AS
    CASE upper(score_type)
        WHEN 'NUMERIC' THEN CASE mode
            WHEN 'unit' THEN CASE WHEN v BETWEEN 0 AND 1 THEN round(1 + 4 * v, 9) END
            WHEN 'unit_inverted' THEN CASE WHEN v BETWEEN 0 AND 1 THEN round(5 - 4 * v, 9) END
            WHEN 'rating' THEN v
            WHEN 'thumbs' THEN CASE WHEN v > 0 THEN 1.0 ELSE 0.0 END
        END
        WHEN 'BOOLEAN' THEN CASE WHEN mode = 'unit_inverted' THEN 1 - coalesce(v, fw_label_polarity(label))
                                 ELSE coalesce(v, fw_label_polarity(label)) END
        WHEN 'CATEGORICAL' THEN CASE WHEN mode = 'unit_inverted' THEN 1 - fw_label_polarity(label)
                                     ELSE fw_label_polarity(label) END
    END;

-- Why a score cannot become feedback (before the native feedback rules), or NULL.
CREATE OR REPLACE TEMP MACRO fw_score_reason(score_name, score_type, mode, v) AS
    CASE
        WHEN upper(score_type) NOT IN ('NUMERIC', 'BOOLEAN', 'CATEGORICAL', 'CORRECTION')
            THEN 'score ' || coalesce(score_name, '?') || ': unknown data type ' || score_type
        WHEN upper(score_type) = 'NUMERIC' AND v IS NULL
            THEN 'score ' || coalesce(score_name, '?') || ': no numeric value'
        WHEN upper(score_type) = 'NUMERIC' AND mode IN ('unit', 'unit_inverted') AND NOT v BETWEEN 0 AND 1
            THEN 'score ' || coalesce(score_name, '?') || ' = ' || v || ' is outside 0–1; set its scale in '
                 || 'flywheel.toml [trace_scores], e.g. "' || coalesce(score_name, '?') || '" = "rating"'
    END;

-- The feedback comment keeps the score's name (and source), which the feedback table has no
-- column for: "toxicity (eval): <the evaluator's explanation>".
CREATE OR REPLACE TEMP MACRO fw_score_comment(score_name, score_type, label, source, comment) AS
    CASE WHEN upper(score_type) = 'CORRECTION' THEN comment
         ELSE score_name
              || CASE WHEN fw_score_kind(score_type, '', label) = 'comment' THEN coalesce(' = ' || label, '') ELSE '' END
              || coalesce(' (' || lower(source) || ')', '')
              || coalesce(': ' || comment, '')
    END;
