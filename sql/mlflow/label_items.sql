-- Every label (an MLflow alias), reconciled every time.
SELECT i.*
FROM fw_mlflow_label_items() AS i
ORDER BY i.name, i.label;
