-- Offline evals to mirror: those the ledger has not seen in this state for $uri (all with $full).
SELECT i.*
FROM fw_mlflow_eval_items() AS i
LEFT JOIN mlflow_mirror_items AS m
    ON m.tracking_uri = $uri AND m.kind = i.kind AND m.item_key = i.item_key
WHERE $full OR m.fingerprint IS DISTINCT FROM i.fingerprint
ORDER BY i.finished_at, i.item_key;
