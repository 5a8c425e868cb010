-- OTLP/JSON conversion, step 1 of 4 (otel_documents → otel_spans → otel_requests →
-- otel_records; split so each statement plans quickly): every line of the file (trace_lines),
-- parsed, with the reason it is not an ExportTraceServiceRequest.
CREATE OR REPLACE TEMP TABLE otel_documents AS
WITH docs AS (
    SELECT line_no, raw, CASE WHEN json_valid(raw) THEN json(raw) END AS doc
    FROM trace_lines
)
SELECT line_no, raw, doc,
       CASE WHEN doc IS NULL THEN 'not valid JSON'
            WHEN json_type(doc) <> 'OBJECT' THEN 'not a JSON object (got ' || lower(json_type(doc)) || ')'
            WHEN json_type(doc, '$.resourceSpans') IS DISTINCT FROM 'ARRAY'
                THEN 'not an OTLP/JSON ExportTraceServiceRequest (no resourceSpans array)'
       END AS reason
FROM docs;
