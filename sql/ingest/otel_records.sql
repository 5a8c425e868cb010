-- OTLP/JSON trace export (trace_lines) → trace_records: one native request record per GenAI
-- inference span, one feedback record per gen_ai.evaluation.result or flywheel.feedback span
-- event, one 'skipped_span' row per other span, and a reject per line that is not an
-- ExportTraceServiceRequest. The mapping is documented in docs/trace-ingest.md; the records
-- then go through the native validation (trace_stage_requests / trace_stage_feedback).
CREATE OR REPLACE TEMP TABLE trace_records AS
WITH docs AS (
    SELECT line_no, raw, CASE WHEN json_valid(raw) THEN json(raw) END AS doc
    FROM trace_lines
), checked AS (
    SELECT line_no, raw, doc,
           CASE WHEN doc IS NULL THEN 'not valid JSON'
                WHEN json_type(doc) <> 'OBJECT' THEN 'not a JSON object (got ' || lower(json_type(doc)) || ')'
                WHEN json_type(doc, '$.resourceSpans') IS DISTINCT FROM 'ARRAY'
                    THEN 'not an OTLP/JSON ExportTraceServiceRequest (no resourceSpans array)'
           END AS reason
    FROM docs
), resource_spans AS (
    SELECT line_no, unnest(json_extract(doc, '$.resourceSpans[*]')) AS rs
    FROM checked WHERE reason IS NULL
), scope_spans AS (
    SELECT line_no, json_extract(rs, '$.resource.attributes[*]') AS resource_attrs,
           unnest(json_extract(rs, '$.scopeSpans[*]')) AS ss
    FROM resource_spans
), raw_spans AS (
    SELECT line_no, resource_attrs, unnest(json_extract(ss, '$.spans[*]')) AS span
    FROM scope_spans
), spans AS (
    SELECT
        line_no, span, resource_attrs,
        json_extract(span, '$.attributes[*]') AS attrs,
        coalesce(json_extract(span, '$.events[*]'), []::JSON[]) AS events,
        lower(span->>'traceId') AS trace_id,
        lower(span->>'spanId') AS span_id,
        lower(nullif(span->>'parentSpanId', '')) AS parent_span_id,
        span->>'name' AS span_name,
        otel_time(span->>'startTimeUnixNano') AS started,
        otel_time(span->>'endTimeUnixNano') AS ended,
        -- nanosecond difference, exact: DOUBLE timestamps would round it
        (try_cast(span->>'endTimeUnixNano' AS HUGEINT) - try_cast(span->>'startTimeUnixNano' AS HUGEINT)) / 1e6 AS span_ms,
        coalesce(span->>'$.status.code', '') IN ('2', 'STATUS_CODE_ERROR') AS failed,
        nullif(span->>'$.status.message', '') AS status_message
    FROM raw_spans
), attributes AS (
    SELECT *,
        otel_text(otel_attr(attrs, 'gen_ai.operation.name')) AS operation,
        coalesce(otel_text(otel_attr(attrs, 'gen_ai.provider.name')),
                 otel_text(otel_attr(attrs, 'gen_ai.system'))) AS provider,
        otel_text(otel_attr(attrs, 'llm.request.type')) AS llm_request_type,
        otel_text(otel_attr(attrs, 'gen_ai.request.model')) AS request_model,
        otel_text(otel_attr(attrs, 'gen_ai.response.model')) AS response_model,
        otel_text(otel_attr(attrs, 'gen_ai.response.id')) AS response_id,
        coalesce(otel_int(otel_attr(attrs, 'gen_ai.usage.input_tokens')),
                 otel_int(otel_attr(attrs, 'gen_ai.usage.prompt_tokens'))) AS input_tokens,
        coalesce(otel_int(otel_attr(attrs, 'gen_ai.usage.output_tokens')),
                 otel_int(otel_attr(attrs, 'gen_ai.usage.completion_tokens'))) AS output_tokens,
        coalesce(otel_text(otel_attr(attrs, 'user.id')), otel_text(otel_attr(attrs, 'enduser.id'))) AS user_id,
        coalesce(otel_text(otel_attr(attrs, 'session.id')),
                 otel_text(otel_attr(attrs, 'gen_ai.conversation.id'))) AS session_id,
        otel_text(otel_attr(attrs, 'flywheel.experiment')) AS experiment,
        otel_text(otel_attr(attrs, 'flywheel.variant')) AS variant,
        coalesce(otel_text(otel_attr(attrs, 'flywheel.prompt_name')),
                 otel_text(otel_attr(attrs, 'gen_ai.prompt.name'))) AS prompt_name,
        otel_text(otel_attr(attrs, 'flywheel.prompt_hash')) AS prompt_hash,
        otel_text(otel_attr(attrs, 'error.type')) AS error_type,
        list_filter(events, lambda e: e->>'name' = 'gen_ai.client.inference.operation.details')[1] AS details_event,
        list_filter(events, lambda e: e->>'name' = 'gen_ai.content.prompt')[1] AS prompt_event,
        list_filter(events, lambda e: e->>'name' = 'gen_ai.content.completion')[1] AS completion_event
    FROM spans
), classified AS (
    SELECT *,
        coalesce(operation IN ('chat', 'text_completion', 'generate_content')
                 OR (operation IS NULL AND provider IS NOT NULL
                     AND coalesce(llm_request_type, 'chat') IN ('chat', 'completion')), false) AS is_inference
    FROM attributes
), inference AS (
    SELECT *,
        trace_id || '-' || span_id AS request_id,
        coalesce(
            otel_parts_messages(otel_content(otel_attr(attrs, 'gen_ai.input.messages'))),
            otel_parts_messages(otel_content(otel_attr(json_extract(details_event, '$.attributes[*]'), 'gen_ai.input.messages'))),
            otel_plain_messages(otel_content(otel_attr(attrs, 'gen_ai.prompt'))),
            otel_plain_messages(otel_content(otel_attr(json_extract(prompt_event, '$.attributes[*]'), 'gen_ai.prompt'))),
            otel_indexed_messages(attrs, 'gen_ai.prompt', 'user')
        ) AS input_messages,
        coalesce(otel_content(otel_attr(attrs, 'gen_ai.system_instructions')),
                 otel_content(otel_attr(json_extract(details_event, '$.attributes[*]'), 'gen_ai.system_instructions'))
        ) AS system_instructions,
        coalesce(
            otel_parts_messages(otel_content(otel_attr(attrs, 'gen_ai.output.messages'))),
            otel_parts_messages(otel_content(otel_attr(json_extract(details_event, '$.attributes[*]'), 'gen_ai.output.messages'))),
            otel_plain_messages(otel_content(otel_attr(attrs, 'gen_ai.completion'))),
            otel_plain_messages(otel_content(otel_attr(json_extract(completion_event, '$.attributes[*]'), 'gen_ai.completion'))),
            otel_indexed_messages(attrs, 'gen_ai.completion', 'assistant')
        ) AS output_messages,
        -- a gen_ai.prompt / gen_ai.completion that is plain text rather than messages
        coalesce(otel_attr(attrs, 'gen_ai.prompt'),
                 otel_attr(json_extract(prompt_event, '$.attributes[*]'), 'gen_ai.prompt'))->>'stringValue' AS prompt_text,
        coalesce(otel_attr(attrs, 'gen_ai.completion'),
                 otel_attr(json_extract(completion_event, '$.attributes[*]'), 'gen_ai.completion'))->>'stringValue' AS completion_text
    FROM classified
    WHERE is_inference
), requests AS (
    SELECT line_no, span, trace_id, span_id, span_name, request_id,
        CASE WHEN trace_id IS NULL OR trace_id = '' OR span_id IS NULL OR span_id = ''
                THEN 'span has no traceId or spanId'
             WHEN coalesce(request_model, response_model, '') = ''
                THEN 'no gen_ai.request.model or gen_ai.response.model attribute'
             WHEN started IS NULL THEN 'no startTimeUnixNano'
             WHEN user_id IS NULL AND experiment IS NOT NULL
                THEN 'in experiment ' || experiment || ' but has no user.id attribute (the A/B randomization unit)'
        END AS reason,
        json_merge_patch('{}', json_object(  -- merge-patch: keys whose value is NULL are left out
            'request_id', request_id,
            'timestamp', otel_iso(started),
            'user_id', coalesce(user_id, CASE WHEN experiment IS NULL THEN 'anonymous' END),
            'session_id', session_id,
            'experiment', experiment,
            'variant', variant,
            'prompt_name', prompt_name,
            'prompt_hash', prompt_hash,
            'model', coalesce(request_model, response_model),
            'messages', CASE WHEN input_messages IS NOT NULL OR system_instructions IS NOT NULL
                             THEN to_json(coalesce(otel_system_message(system_instructions), []::JSON[])
                                          || coalesce(input_messages, []::JSON[])) END,
            'input', CASE WHEN input_messages IS NULL AND system_instructions IS NULL
                          THEN CASE WHEN prompt_text IS NOT NULL THEN json_object('input', prompt_text)
                                    ELSE json_object() END END,
            'output', coalesce(otel_output_text(output_messages),
                               CASE WHEN output_messages IS NULL THEN completion_text END),
            'latency_ms', CASE WHEN ended IS NOT NULL THEN span_ms END,
            'prompt_tokens', input_tokens,
            'completion_tokens', output_tokens,
            'error', CASE WHEN failed OR error_type IS NOT NULL
                          THEN coalesce(status_message, error_type, 'error') END,
            'metadata', json_merge_patch(json_object('source', 'otel'), json_object(
                'trace_id', trace_id, 'span_id', span_id, 'parent_span_id', parent_span_id,
                'span_name', span_name, 'operation', operation, 'provider', provider,
                'request_model', request_model, 'response_model', response_model,
                'response_id', response_id,
                'service_name', otel_text(otel_attr(resource_attrs, 'service.name'))))
        )) AS record
    FROM inference
), response_ids AS (
    SELECT response_id, min(request_id) AS request_id
    FROM inference WHERE response_id IS NOT NULL GROUP BY response_id
), span_events AS (
    SELECT line_no, trace_id, span_id, parent_span_id, is_inference, ended, user_id,
           unnest(events) AS event, generate_subscripts(events, 1) AS event_no
    FROM classified
), feedback_events AS (
    SELECT e.*, json_extract(event, '$.attributes[*]') AS event_attrs, event->>'name' AS event_name,
           -- the request it is about: its own span, else the span with its gen_ai.response.id,
           -- else its parent span (which may come in another file: the feedback then waits)
           CASE WHEN e.is_inference THEN e.trace_id || '-' || e.span_id
                WHEN r.request_id IS NOT NULL THEN r.request_id
                WHEN e.parent_span_id IS NOT NULL THEN e.trace_id || '-' || e.parent_span_id
           END AS target
    FROM span_events AS e
    LEFT JOIN response_ids AS r
        ON r.response_id = otel_text(otel_attr(json_extract(e.event, '$.attributes[*]'), 'gen_ai.response.id'))
    WHERE event->>'name' IN ('gen_ai.evaluation.result', 'flywheel.feedback')
), feedback AS (
    SELECT line_no, event, span_id, event_no, event_name,
        CASE WHEN target IS NULL
             THEN 'not on a GenAI span, and names none (set gen_ai.response.id, or record the event on the span or a child of it)'
             WHEN event_name = 'gen_ai.evaluation.result'
                  AND coalesce(otel_text(otel_attr(event_attrs, 'gen_ai.evaluation.name')), '') = ''
             THEN 'no gen_ai.evaluation.name attribute'
        END AS reason,
        json_merge_patch('{}', CASE WHEN event_name = 'gen_ai.evaluation.result' THEN json_object(
            'feedback_id', trace_id || '-' || span_id || '-e' || event_no,
            'request_id', target,
            'timestamp', otel_iso(coalesce(otel_time(event->>'timeUnixNano'), ended)),
            'score', json_object(
                'name', otel_text(otel_attr(event_attrs, 'gen_ai.evaluation.name')),
                'type', CASE WHEN otel_number(otel_attr(event_attrs, 'gen_ai.evaluation.score.value')) IS NOT NULL
                             THEN 'NUMERIC' ELSE 'CATEGORICAL' END,
                'value', otel_number(otel_attr(event_attrs, 'gen_ai.evaluation.score.value')),
                'label', otel_text(otel_attr(event_attrs, 'gen_ai.evaluation.score.label')),
                'comment', otel_text(otel_attr(event_attrs, 'gen_ai.evaluation.explanation')),
                'source', 'EVAL'))
        ELSE json_object(
            'feedback_id', coalesce(otel_text(otel_attr(event_attrs, 'flywheel.feedback.id')),
                                    trace_id || '-' || span_id || '-e' || event_no),
            'request_id', target,
            'timestamp', otel_iso(coalesce(otel_time(event->>'timeUnixNano'), ended)),
            'kind', otel_text(otel_attr(event_attrs, 'flywheel.feedback.kind')),
            'value', otel_json(otel_attr(event_attrs, 'flywheel.feedback.value')),
            'corrected_output', otel_text(otel_attr(event_attrs, 'flywheel.feedback.corrected_output')),
            'comment', otel_text(otel_attr(event_attrs, 'flywheel.feedback.comment')),
            'user_id', coalesce(otel_text(otel_attr(event_attrs, 'flywheel.feedback.user_id')), user_id))
        END) AS record
    FROM feedback_events
)
SELECT line_no, raw, 'requests' AS record_kind, NULL AS label, reason, NULL::JSON AS record
FROM checked WHERE reason IS NOT NULL
UNION ALL
SELECT line_no, span::VARCHAR, 'requests', 'span ' || coalesce(span_id, '?') || ' "' || coalesce(span_name, '') || '"',
       reason, record
FROM requests
UNION ALL
SELECT line_no, event::VARCHAR, 'feedback', 'span ' || coalesce(span_id, '?') || ' event ' || event_no || ' (' || event_name || ')',
       reason, record
FROM feedback
UNION ALL
SELECT line_no, NULL, 'skipped_span', NULL, NULL, NULL
FROM classified WHERE NOT is_inference;
