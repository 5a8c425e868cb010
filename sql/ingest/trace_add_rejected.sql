-- A line of a trace export rejected before SQL could read it (bytes that are not UTF-8).
INSERT INTO trace_records (line_no, raw, record_kind, label, reason, record)
VALUES ($line_no, $raw, 'requests', NULL, $reason, NULL);
