-- Where each prompt's labels stood at $as_of: the target of the label's last move before it;
-- for a label created later (a backfill of past nights), its first placement.
SELECT name, label,
       coalesce(arg_max(to_hash, move_id) FILTER (WHERE moved_at < $as_of),
                arg_min(to_hash, move_id)) AS hash
FROM label_history
WHERE list_contains($labels, label)
GROUP BY name, label
ORDER BY name, label;
