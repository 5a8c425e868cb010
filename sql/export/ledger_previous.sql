-- The manifest hash of the last export of this kind into this folder.
SELECT manifest_sha256, run_id FROM export_runs
WHERE kind = $kind AND out_dir = $out_dir
ORDER BY run_id DESC
LIMIT 1;
