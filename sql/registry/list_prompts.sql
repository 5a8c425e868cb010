-- Every prompt name: how many versions, when first and last registered, and its labels.
SELECT n.name,
       count(*) AS versions,
       min(n.first_seen) AS first_registered,
       max(n.first_seen) AS last_registered,
       coalesce((SELECT list({'label': l.label, 'hash': l.hash, 'updated_at': l.updated_at}
                             ORDER BY l.label)
                 FROM prompt_labels AS l WHERE l.name = n.name), []) AS labels
FROM prompt_names AS n
GROUP BY n.name
ORDER BY n.name;
