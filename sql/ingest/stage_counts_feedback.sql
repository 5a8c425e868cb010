-- Per staged file: records read, records rejected, and valid records that repeat an id of the
-- same file (only then is the stage de-duplicated before inserting).
SELECT source_file,
       count(*) AS rows_read,
       count(*) FILTER (WHERE reason IS NOT NULL) AS rejected,
       count(*) FILTER (WHERE reason IS NULL) - count(DISTINCT feedback_id) FILTER (WHERE reason IS NULL) AS repeated
FROM stage
GROUP BY source_file;
