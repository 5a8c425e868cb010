INSERT INTO export_runs (kind, out_dir, manifest_sha256, examples, dropped, manifest, exported_at)
VALUES ($kind, $out_dir, $manifest_sha256, $examples, $dropped, $manifest, $now)
RETURNING run_id;
