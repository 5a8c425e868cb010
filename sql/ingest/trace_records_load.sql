-- Records converted in Python (Langfuse exports) → trace_records, the table otel_records.sql
-- fills for OTLP files.
CREATE OR REPLACE TEMP TABLE trace_records AS
SELECT line_no, raw, record_kind, label, reason, record
FROM read_json($path, format = 'newline_delimited', maximum_object_size = 268435456,
               columns = {line_no: 'BIGINT', raw: 'VARCHAR', record_kind: 'VARCHAR',
                          label: 'VARCHAR', reason: 'VARCHAR', record: 'JSON'});
