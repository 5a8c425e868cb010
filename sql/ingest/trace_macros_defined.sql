-- Fails (no such macro) when this connection does not have the trace macros yet: they are
-- created once per connection. (Listing duckdb_functions() costs ~100 ms; this, nothing.)
SELECT otel_text(NULL::JSON), fw_score_mode('probe', []::VARCHAR[], []::VARCHAR[]);
