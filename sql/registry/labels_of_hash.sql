-- The labels that point at a version now.
SELECT name, label, updated_at FROM prompt_labels WHERE hash = $hash ORDER BY name, label;
