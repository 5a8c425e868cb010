-- Append one label move to the history (never updated or deleted).
INSERT INTO label_history
    (name, label, from_hash, to_hash, action, moved_at, moved_by, reason, undoes_move_id)
VALUES ($name, $label, $from_hash, $to_hash, $action, $now, $moved_by, $reason, $undoes_move_id)
RETURNING move_id, name, label, from_hash, to_hash, action, moved_at, moved_by, reason,
          undoes_move_id;
