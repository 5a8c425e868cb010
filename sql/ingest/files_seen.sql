-- Every file the ingest has seen, with its size and modification time then.
SELECT path, size_bytes, mtime_ns FROM ingest_files_seen;
