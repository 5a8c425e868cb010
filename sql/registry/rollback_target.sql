-- The top of a label's rollback stack: the newest promote/initial move no rollback has undone.
-- A rollback moves the label to this move's from_hash and records that it undid it.
SELECT h.move_id, h.name, h.label, h.from_hash, h.to_hash, h.action, h.moved_at, h.moved_by,
       h.reason, h.undoes_move_id
FROM label_history AS h
WHERE h.name = $name AND h.label = $label AND h.action IN ('initial', 'promote')
  AND NOT EXISTS (
      SELECT 1 FROM label_history AS r
      WHERE r.name = h.name AND r.label = h.label AND r.undoes_move_id = h.move_id
  )
ORDER BY h.move_id DESC
LIMIT 1;
