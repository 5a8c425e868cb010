-- Prompt names that carry a given label.
SELECT DISTINCT name FROM prompt_labels WHERE label = $label ORDER BY name;
