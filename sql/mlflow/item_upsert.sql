-- Record one item as mirrored to $uri in the state $fingerprint.
INSERT OR REPLACE INTO mlflow_mirror_items
    (tracking_uri, kind, item_key, fingerprint, mlflow_ref, note, synced_at)
VALUES ($uri, $kind, $item_key, $fingerprint, $mlflow_ref, $note, $synced_at);
