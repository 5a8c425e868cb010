-- The time of the last request stored (an analysis of all data runs up to it).
SELECT max(ts) AS last_ts FROM requests;
