-- Where a label pointed just before $until (the moves of a night happen at its end, after the
-- proposal: a rerun of the night sees the parent the first run saw).
SELECT to_hash FROM label_history
WHERE name = $name AND label = $label AND moved_at < $until
ORDER BY move_id DESC
LIMIT 1;
