-- Create a label (its first move). A concurrent creation of the same label conflicts on the key.
INSERT INTO prompt_labels (name, label, hash, updated_at)
VALUES ($name, $label, $to_hash, $now);
