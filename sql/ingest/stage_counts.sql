SELECT count(*) AS rows_read,
       count(*) FILTER (WHERE reason IS NOT NULL) AS rejected
FROM stage;
