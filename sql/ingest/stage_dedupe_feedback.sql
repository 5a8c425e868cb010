-- A record repeated inside one file is loaded once: the first (by line, else by read order) wins.
DELETE FROM stage
WHERE rowid IN (
    SELECT rowid FROM stage
    WHERE reason IS NULL
    QUALIFY row_number() OVER (PARTITION BY source_file, feedback_id ORDER BY line_no, rowid) > 1
);
