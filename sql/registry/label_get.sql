SELECT l.hash, l.name, v.content, v.metadata
FROM prompt_labels AS l JOIN prompt_versions AS v ON v.hash = l.hash
WHERE l.name = $name AND l.label = $label;
