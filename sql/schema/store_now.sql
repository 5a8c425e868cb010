-- What the store holds now: its rows, and the latest ingest it has taken in (NULL: none);
-- $mark: how many of its rows were ingested after a mark (a bound on ingested_at: DuckDB skips
-- the row groups before it).
SELECT
    (SELECT count(*) FROM requests)                              AS requests,
    (SELECT count(*) FROM feedback)                              AS feedback,
    (SELECT count(*) FROM requests WHERE ingested_at > $mark)    AS requests_after,
    (SELECT count(*) FROM feedback WHERE ingested_at > $mark)    AS feedback_after,
    greatest((SELECT max(ingested_at) FROM requests),
             (SELECT max(ingested_at) FROM feedback))            AS ingested_through;
