-- Every move of a prompt's labels (optionally one label), newest first.
SELECT move_id, name, label, from_hash, to_hash, action, moved_at, moved_by, reason,
       undoes_move_id
FROM label_history
WHERE name = $name AND ($label IS NULL OR label = $label)
ORDER BY move_id DESC;
