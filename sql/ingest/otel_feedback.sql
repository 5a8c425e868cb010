-- OTLP/JSON conversion, once every slice is in: one feedback record per
-- gen_ai.evaluation.result or flywheel.feedback span event → trace_records. The records then
-- go through the native rules (trace_stage_requests / trace_stage_feedback).
INSERT INTO trace_records
WITH response_ids AS (
    SELECT response_id, min(request_id) AS request_id FROM otel_response_ids GROUP BY response_id
), event_fields AS (
    SELECT *, event->>'name' AS event_name,
        coalesce(otel_time(event->>'timeUnixNano'), ended) AS event_time,
        otel_attrs(event->'attributes') AS event_attrs
    FROM otel_events
), event_values AS (
    SELECT *,
        otel_text(otel_attr(event_attrs, 'gen_ai.response.id')) AS event_response_id,
        otel_text(otel_attr(event_attrs, 'gen_ai.evaluation.name')) AS evaluation_name,
        otel_number(otel_attr(event_attrs, 'gen_ai.evaluation.score.value')) AS score_value,
        otel_text(otel_attr(event_attrs, 'gen_ai.evaluation.score.label')) AS score_label,
        otel_text(otel_attr(event_attrs, 'gen_ai.evaluation.explanation')) AS explanation,
        otel_text(otel_attr(event_attrs, 'flywheel.feedback.id')) AS feedback_id,
        otel_text(otel_attr(event_attrs, 'flywheel.feedback.kind')) AS feedback_kind,
        otel_json(otel_attr(event_attrs, 'flywheel.feedback.value')) AS feedback_value,
        otel_text(otel_attr(event_attrs, 'flywheel.feedback.corrected_output')) AS corrected_output,
        otel_text(otel_attr(event_attrs, 'flywheel.feedback.comment')) AS feedback_comment,
        otel_text(otel_attr(event_attrs, 'flywheel.feedback.user_id')) AS feedback_user_id
    FROM event_fields
), feedback_events AS (
    SELECT e.*,
           -- the request it is about: its own span, else the span with its gen_ai.response.id,
           -- else its parent span (which may come in another file: the feedback then waits)
           CASE WHEN e.is_inference THEN e.trace_id || '-' || e.span_id
                WHEN r.request_id IS NOT NULL THEN r.request_id
                WHEN e.parent_span_id IS NOT NULL THEN e.trace_id || '-' || e.parent_span_id
           END AS target
    FROM event_values AS e
    LEFT JOIN response_ids AS r ON r.response_id = e.event_response_id
), feedback AS (
    SELECT line_no, event, span_id, event_no, event_name,
        CASE WHEN target IS NULL
             THEN 'not on a GenAI span, and names none (set gen_ai.response.id, or record the event on the span or a child of it)'
             WHEN event_name = 'gen_ai.evaluation.result' AND coalesce(evaluation_name, '') = ''
             THEN 'no gen_ai.evaluation.name attribute'
        END AS reason,
        json_merge_patch('{}', CASE WHEN event_name = 'gen_ai.evaluation.result' THEN json_object(
            'feedback_id', trace_id || '-' || span_id || '-e' || event_no,
            'request_id', target,
            'timestamp', otel_iso(event_time),
            'score', json_object(
                'name', evaluation_name,
                'type', CASE WHEN score_value IS NOT NULL THEN 'NUMERIC' ELSE 'CATEGORICAL' END,
                'value', score_value, 'label', score_label, 'comment', explanation, 'source', 'EVAL'))
        ELSE json_object(
            'feedback_id', coalesce(feedback_id, trace_id || '-' || span_id || '-e' || event_no),
            'request_id', target,
            'timestamp', otel_iso(event_time),
            'kind', feedback_kind, 'value', feedback_value, 'corrected_output', corrected_output,
            'comment', feedback_comment, 'user_id', coalesce(feedback_user_id, user_id))
        END) AS record
    FROM feedback_events
)
SELECT line_no, event::VARCHAR, 'feedback', 'span ' || coalesce(span_id, '?') || ' event ' || event_no || ' (' || event_name || ')',
       reason, record
FROM feedback;
DROP TABLE otel_events;
DROP TABLE otel_response_ids;
DROP TABLE trace_lines;
