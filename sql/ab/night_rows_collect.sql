-- ... and every further stretch's rows join them.
INSERT INTO ab_night_rows_new SELECT * FROM ab_night_rows_part;
