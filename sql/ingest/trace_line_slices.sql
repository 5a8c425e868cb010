-- The lines of trace_lines in consecutive slices of about $max_bytes each (a longer line is a
-- slice of its own): (first line, last line) per slice.
SELECT min(line_no) AS first_line, max(line_no) AS last_line
FROM (
    SELECT line_no, (sum(length(raw)) OVER (ORDER BY line_no) - length(raw)) // $max_bytes AS slice
    FROM trace_lines
)
GROUP BY slice
ORDER BY first_line;
