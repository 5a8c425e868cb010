SELECT label, hash FROM prompt_labels WHERE name = $name ORDER BY label;
