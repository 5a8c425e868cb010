-- The hash a label points to now (no row: the label does not exist yet).
SELECT hash FROM prompt_labels WHERE name = $name AND label = $label;
