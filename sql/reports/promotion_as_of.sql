-- The promotion that put $name@production where it stood at $as_of, if it was one: the newest
-- promote move before $as_of (with a version it replaced) that no rollback before $as_of undid.
SELECT h.move_id, h.from_hash, h.to_hash, h.moved_at, h.moved_by, h.reason
FROM label_history AS h
WHERE h.name = $name AND h.label = 'production' AND h.action = 'promote'
  AND h.from_hash IS NOT NULL AND h.moved_at < $as_of
  AND NOT EXISTS (
      SELECT 1 FROM label_history AS r
      WHERE r.name = h.name AND r.label = h.label AND r.undoes_move_id = h.move_id
        AND r.moved_at < $as_of
  )
ORDER BY h.move_id DESC
LIMIT 1;
