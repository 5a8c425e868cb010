-- OTLP/JSON conversion of one slice, step 2 of 4: every span with the attributes the mapping reads
-- (docs/trace-ingest.md), and whether it is a GenAI model call (an inference span).
CREATE OR REPLACE TEMP TABLE otel_spans AS
WITH resource_spans AS (
    SELECT line_no, unnest(json_extract(doc, '$.resourceSpans[*]')) AS rs
    FROM otel_documents WHERE reason IS NULL
), scope_spans AS (
    SELECT line_no, otel_attrs(rs->'$.resource.attributes') AS resource_attrs,
           unnest(json_extract(rs, '$.scopeSpans[*]')) AS ss
    FROM resource_spans
), raw_spans AS (
    SELECT line_no, resource_attrs, unnest(json_extract(ss, '$.spans[*]')) AS span
    FROM scope_spans
), spans AS (
    SELECT
        line_no, span, resource_attrs,
        otel_attrs(span->'attributes') AS attrs,
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
        otel_text(otel_attr(resource_attrs, 'service.name')) AS service_name,
        -- content may be on the span, or on its events (the details event; the older
        -- gen_ai.content.prompt / gen_ai.content.completion events)
        otel_attrs(list_filter(events, lambda e: e->>'name' = 'gen_ai.client.inference.operation.details')[1]->'attributes') AS details_attrs,
        otel_attrs(list_filter(events, lambda e: e->>'name' = 'gen_ai.content.prompt')[1]->'attributes') AS prompt_event_attrs,
        otel_attrs(list_filter(events, lambda e: e->>'name' = 'gen_ai.content.completion')[1]->'attributes') AS completion_event_attrs
    FROM spans
), classified AS (
    SELECT *,
        coalesce(operation IN ('chat', 'text_completion', 'generate_content')
                 OR (operation IS NULL AND provider IS NOT NULL
                     AND coalesce(llm_request_type, 'chat') IN ('chat', 'completion')), false) AS is_inference
    FROM attributes
)
-- A span that is not a model call only matters for its feedback events (and as a count).
SELECT * REPLACE (
        CASE WHEN is_inference THEN span END AS span,
        CASE WHEN is_inference THEN attrs END AS attrs,
        list_filter(events, lambda e: e->>'name' IN ('gen_ai.evaluation.result', 'flywheel.feedback')) AS events)
FROM classified;
-- the parsed documents are read; keep the lines to quarantine
CREATE OR REPLACE TEMP TABLE otel_documents AS
SELECT line_no, raw, reason FROM otel_documents WHERE reason IS NOT NULL;
