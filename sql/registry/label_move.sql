-- Compare-and-set: move the label only if it still points where the caller read it pointing.
UPDATE prompt_labels SET hash = $to_hash, updated_at = $now
WHERE name = $name AND label = $label AND hash = $from_hash
RETURNING hash;
