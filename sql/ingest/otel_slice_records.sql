-- OTLP/JSON conversion of one slice, step 4 of 4: its request records, its lines that are not
-- ExportTraceServiceRequests and its skipped spans → trace_records; the response ids and the
-- feedback events are kept for otel_feedback.sql.
INSERT INTO trace_records
SELECT line_no, raw, 'requests' AS record_kind, NULL AS label, reason, NULL::JSON AS record
FROM otel_documents WHERE reason IS NOT NULL
UNION ALL
SELECT line_no, span::VARCHAR, 'requests', 'span ' || coalesce(span_id, '?') || ' "' || coalesce(span_name, '') || '"',
       reason, record
FROM otel_requests
UNION ALL
SELECT line_no, NULL, 'skipped_span', NULL, NULL, NULL
FROM otel_spans WHERE NOT is_inference;
INSERT INTO otel_response_ids
SELECT response_id, request_id FROM otel_requests WHERE response_id IS NOT NULL;
INSERT INTO otel_events
SELECT line_no, trace_id, span_id, parent_span_id, is_inference, ended, user_id,
       unnest(events) AS event, generate_subscripts(events, 1) AS event_no
FROM otel_spans;
DROP TABLE otel_documents;
DROP TABLE otel_spans;
DROP TABLE otel_requests;
