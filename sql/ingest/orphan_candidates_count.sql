-- How many of this ingest's feedback records were not matched near their own days.
SELECT count(*) FROM orphan_candidates;
