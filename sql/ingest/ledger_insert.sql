INSERT INTO ingest_ledger
    (sha256, path, size_bytes, kind, format, rows_read, inserted, duplicates, rejected, ingested_at)
VALUES ($sha256, $path, $size_bytes, $kind, $format, $rows_read, $inserted, $duplicates,
        $rejected, $now);
