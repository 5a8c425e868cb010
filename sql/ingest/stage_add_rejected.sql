-- A line rejected before SQL could read it (bytes that are not UTF-8).
INSERT INTO stage (line_no, raw, reason) VALUES ($line_no, $raw, $reason);
