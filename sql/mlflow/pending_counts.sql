-- Items not mirrored to $uri in their current state, per kind: what "the mirror is behind" counts.
WITH items AS (
    SELECT kind, item_key, fingerprint FROM fw_mlflow_eval_items()
    UNION ALL SELECT kind, item_key, fingerprint FROM fw_mlflow_ab_items()
    UNION ALL SELECT kind, item_key, fingerprint FROM fw_mlflow_prompt_items()
    UNION ALL SELECT kind, item_key, fingerprint FROM fw_mlflow_label_items()
)
SELECT i.kind, count(*) AS pending
FROM items AS i
LEFT JOIN mlflow_mirror_items AS m
    ON m.tracking_uri = $uri AND m.kind = i.kind AND m.item_key = i.item_key
WHERE m.fingerprint IS DISTINCT FROM i.fingerprint
GROUP BY i.kind
ORDER BY i.kind;
