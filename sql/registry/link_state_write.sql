INSERT OR REPLACE INTO request_link_state VALUES (1, $ingested_through, $requests_seen);
