-- Every label move that pointed a label at one version, up to $until, oldest first.
SELECT move_id, label, action, moved_at, moved_by, reason
FROM label_history
WHERE to_hash = $hash AND moved_at <= $until
ORDER BY move_id;
