-- A file whose content the ledger holds: remember its path, size and modification time.
INSERT INTO ingest_files_seen (path, size_bytes, mtime_ns, sha256)
VALUES ($path, $size_bytes, $mtime_ns, $sha256)
ON CONFLICT (path) DO UPDATE SET size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns,
                                 sha256 = excluded.sha256;
