DELETE FROM ingest_failures WHERE path = $path;
