-- The versions registered under a name, newest first, with the labels of that name on each.
SELECT n.hash, n.first_seen, n.source_file,
       coalesce((SELECT list(l.label ORDER BY l.label) FROM prompt_labels AS l
                 WHERE l.name = n.name AND l.hash = n.hash), []) AS labels
FROM prompt_names AS n
WHERE n.name = $name
ORDER BY n.first_seen DESC, n.hash
LIMIT $limit;
