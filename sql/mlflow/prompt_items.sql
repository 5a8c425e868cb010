-- Every registered (name, version). Prompts are reconciled against MLflow every time (one listing
-- per name), so all of them are returned.
SELECT i.*
FROM fw_mlflow_prompt_items() AS i
ORDER BY i.name, i.first_seen, i.source_file, i.hash;
