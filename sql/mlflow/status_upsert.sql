-- The outcome of one mirror attempt ($error NULL: it mirrored everything it tried).
INSERT INTO mlflow_mirror_status
    (tracking_uri, last_attempt_at, last_success_at, last_error, last_error_at, last_counts)
VALUES ($uri, $at,
        CASE WHEN $error::VARCHAR IS NULL THEN $at END,
        $error::VARCHAR,
        CASE WHEN $error::VARCHAR IS NOT NULL THEN $at END,
        $counts::JSON)
ON CONFLICT (tracking_uri) DO UPDATE SET
    last_attempt_at = excluded.last_attempt_at,
    last_success_at = coalesce(excluded.last_success_at, mlflow_mirror_status.last_success_at),
    last_error = excluded.last_error,
    last_error_at = coalesce(excluded.last_error_at, mlflow_mirror_status.last_error_at),
    last_counts = excluded.last_counts;
