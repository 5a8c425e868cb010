INSERT INTO ab_changed VALUES ($experiment, $part, $night, $lo, $hi);
