-- Every label of every prompt, for the serving snapshot.
SELECT name, label, hash FROM prompt_labels ORDER BY name, label;
