-- OTLP/JSON conversion of one slice of lines, step 1 of 4 (otel_documents → otel_spans →
-- otel_requests → otel_slice_records; split so that each statement plans quickly): every line
-- of the slice (trace_lines), parsed, with the reason it is not an ExportTraceServiceRequest. The steps keep only what the
-- next one reads (the raw text only where it may be quarantined): a collector's file can be
-- hundreds of MB, and every copy of it counts.
CREATE OR REPLACE TEMP TABLE otel_documents AS
WITH docs AS (
    SELECT line_no, raw, CASE WHEN json_valid(raw) THEN json(raw) END AS doc
    FROM trace_lines
    WHERE line_no BETWEEN $first_line AND $last_line
), checked AS (
    SELECT line_no, raw, doc,
           CASE WHEN doc IS NULL THEN 'not valid JSON'
                WHEN json_type(doc) <> 'OBJECT' THEN 'not a JSON object (got ' || lower(json_type(doc)) || ')'
                WHEN json_type(doc, '$.resourceSpans') IS DISTINCT FROM 'ARRAY'
                    THEN 'not an OTLP/JSON ExportTraceServiceRequest (no resourceSpans array)'
           END AS reason
    FROM docs
)
SELECT line_no, CASE WHEN reason IS NOT NULL THEN raw END AS raw,
       CASE WHEN reason IS NULL THEN doc END AS doc, reason
FROM checked;
