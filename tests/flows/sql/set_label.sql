-- Test fixture only: point a label at a version (the registry's own promote does this for real).
INSERT OR REPLACE INTO prompt_labels (name, label, hash, updated_at)
VALUES ($name, $label, $hash, now());
