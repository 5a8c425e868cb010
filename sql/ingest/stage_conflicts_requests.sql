-- A staged request whose id is already stored with other content is not a duplicate: it is
-- quarantined as a conflict (the stored record stays; this one is kept in rejected_records),
-- never silently dropped. A record seen again with the same content stays a duplicate. Stored
-- requests are looked for between $lo and $hi (ingest/stage_span.sql, over the whole stage).
UPDATE stage AS s
SET reason = 'request_id conflict: ' || fw_clip(s.request_id) || ' is already stored with other '
             || 'content (from ' || r.source_file || '); both kept: the stored record in '
             || 'requests, this one here'
FROM requests AS r
WHERE r.ts BETWEEN $lo AND $hi AND s.reason IS NULL AND r.request_id = s.request_id
  AND (r.ts IS DISTINCT FROM s.ts OR r.user_id IS DISTINCT FROM s.user_id
       OR r.session_id IS DISTINCT FROM s.session_id OR r.experiment IS DISTINCT FROM s.experiment
       OR r.variant IS DISTINCT FROM s.variant OR r.prompt_name IS DISTINCT FROM s.prompt_name
       OR r.prompt_hash IS DISTINCT FROM s.prompt_hash OR r.model IS DISTINCT FROM s.model
       OR json(r.input) IS DISTINCT FROM json(s.input)
       OR json(r.messages) IS DISTINCT FROM json(s.messages)
       OR r.output IS DISTINCT FROM s.output OR r.latency_ms IS DISTINCT FROM s.latency_ms
       OR r.prompt_tokens IS DISTINCT FROM s.prompt_tokens
       OR r.completion_tokens IS DISTINCT FROM s.completion_tokens
       OR r.error IS DISTINCT FROM s.error);
