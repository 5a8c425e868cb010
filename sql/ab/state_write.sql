INSERT OR REPLACE INTO ab_state
VALUES ($experiment, $config_key, $as_of, $ingested_through, $requests_seen, $feedback_seen, $now);
