-- How many times a label was moved after $until (a later night's or a person's moves: a rerun
-- of an older night leaves them standing). A label's initial placement from a file is not a move.
SELECT count(*) AS moves FROM label_history
WHERE name = $name AND label = $label AND moved_at > $until AND action <> 'initial';
