-- OTLP/JSON conversion: the tables the slices of a file add to (a file is converted a slice of
-- lines at a time so that the memory DuckDB's JSON parser takes stays bounded; feedback events
-- are resolved once every slice is in, so that an event may name a span in another slice).
CREATE OR REPLACE TEMP TABLE trace_records (
    line_no BIGINT, raw VARCHAR, record_kind VARCHAR, label VARCHAR, reason VARCHAR, record JSON);
CREATE OR REPLACE TEMP TABLE otel_response_ids (response_id VARCHAR, request_id VARCHAR);
CREATE OR REPLACE TEMP TABLE otel_events (
    line_no BIGINT, trace_id VARCHAR, span_id VARCHAR, parent_span_id VARCHAR,
    is_inference BOOLEAN, ended TIMESTAMP, user_id VARCHAR, event JSON, event_no BIGINT);
