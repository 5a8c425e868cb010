-- Feedback whose request has not arrived (yet): kept, and joined as soon as it does.
SELECT count(*) FROM ingest_orphans;
