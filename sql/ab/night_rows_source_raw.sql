-- ... or the ones just computed from the raw logs (an earlier night, a one-off analysis).
CREATE OR REPLACE TEMP VIEW ab_night_rows AS SELECT * FROM ab_night_rows_new;
