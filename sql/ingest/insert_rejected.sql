INSERT INTO rejected_records (file, file_sha256, line_no, kind, raw, raw_truncated, reason, rejected_at)
SELECT source_file, $sha256, line_no, $kind, left(raw, $max_chars), length(raw) > $max_chars, reason, $now
FROM stage
WHERE source_file = $file AND reason IS NOT NULL
ORDER BY line_no;
