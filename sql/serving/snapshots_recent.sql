-- The newest serving snapshots written, newest first.
SELECT * FROM serving_snapshots ORDER BY generation DESC LIMIT $limit;
