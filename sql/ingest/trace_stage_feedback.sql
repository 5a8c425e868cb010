-- The feedback records of one trace file → `stage`. A record carries either native feedback
-- fields (flywheel.feedback events) or a `score` (Langfuse scores, gen_ai.evaluation.result
-- events) mapped by the fw_score_* rules; scores whose mode is 'skip' are left out (counted by
-- trace_counts). Then the native rules (fw_feedback_reason) apply.
CREATE OR REPLACE TEMP TABLE stage AS
WITH typed AS (
    SELECT line_no, raw, label, reason AS pre_reason, r.*,
           fw_score_mode(r.score.name, $score_names, $score_modes) AS mode
    FROM (
        SELECT *, json_transform(record,
                   '{"feedback_id": "VARCHAR", "request_id": "VARCHAR", "timestamp": "VARCHAR",
                     "kind": "VARCHAR", "value": "JSON", "corrected_output": "VARCHAR",
                     "comment": "VARCHAR", "user_id": "VARCHAR",
                     "score": {"name": "VARCHAR", "type": "VARCHAR", "value": "DOUBLE",
                               "label": "VARCHAR", "text": "VARCHAR", "comment": "VARCHAR",
                               "source": "VARCHAR"}}') AS r
        FROM trace_records
        WHERE record_kind = 'feedback'
    )
), mapped AS (
    SELECT line_no, raw, label, feedback_id, request_id, "timestamp", user_id,
        CASE WHEN score.type IS NULL THEN pre_reason
             ELSE coalesce(pre_reason, fw_score_reason(score.name, score.type, mode, score.value)) END AS pre_reason,
        CASE WHEN score.type IS NULL THEN kind ELSE fw_score_kind(score.type, mode, score.label) END AS kind,
        CASE WHEN score.type IS NULL THEN value
             ELSE to_json(fw_score_value(score.type, mode, score.value, score.label)) END AS value,
        CASE WHEN score.type IS NULL THEN corrected_output
             WHEN upper(score.type) = 'CORRECTION' THEN coalesce(score.text, score.label) END AS corrected_output,
        CASE WHEN score.type IS NULL THEN comment
             ELSE fw_score_comment(score.name, score.type, score.label, score.source, score.comment) END AS comment
    FROM typed
    WHERE score.type IS NULL OR mode <> 'skip'
), checked AS (
    SELECT *, fw_feedback_reason(pre_reason, feedback_id, request_id, "timestamp", kind, value,
                                 corrected_output, comment) AS why
    FROM mapped
)
SELECT
    $file AS source_file, line_no,
    CASE WHEN why IS NOT NULL THEN raw END AS raw,  -- kept only to be quarantined
    CASE WHEN why IS NOT NULL THEN coalesce(label || ': ', '') || why END AS reason,
    feedback_id, request_id, try_cast("timestamp" AS TIMESTAMPTZ) AS ts, kind,
    fw_feedback_value(kind, value) AS value, corrected_output, comment, user_id
FROM checked;
