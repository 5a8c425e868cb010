-- The request-link pairs' mark (no row: never computed).
SELECT ingested_through, requests_seen FROM request_link_state WHERE id = 1;
