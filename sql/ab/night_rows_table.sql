-- The stored per-user-night sums, with the columns of ab_night_rows_new (their names and types
-- follow the metric declarations; a change of them drops and rebuilds this table).
CREATE TABLE IF NOT EXISTS ab_user_nights AS SELECT * FROM ab_night_rows_new LIMIT 0;
