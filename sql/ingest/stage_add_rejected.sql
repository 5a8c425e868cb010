-- A line rejected before SQL could read it (bytes that are not UTF-8).
INSERT INTO stage (source_file, line_no, raw, reason) VALUES ($file, $line_no, $raw, $reason);
