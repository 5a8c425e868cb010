-- The mirror's last attempts for one MLflow store.
SELECT tracking_uri, last_attempt_at, last_success_at, last_error, last_error_at, last_counts
FROM mlflow_mirror_status
WHERE tracking_uri = $uri;
