-- Where a stored record with a staged record's id is looked for: the time span of the valid
-- staged records of $file (NULL: of every staged file), widened by $margin on both sides. The
-- store is in time order, so a bound on ts reads only the row groups of those nights.
SELECT min(ts) - $margin AS lo, max(ts) + $margin AS hi
FROM stage
WHERE reason IS NULL AND ($file IS NULL OR source_file = $file);
