SELECT path, ingested_at FROM ingest_ledger WHERE sha256 = $sha256;
