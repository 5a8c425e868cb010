-- The logged hashes that do not resolve to one registered version (unknown or ambiguous), most
-- requests first, with example request ids and the prompt names they were logged with.
SELECT logged_hash,
       link_status,
       count(*) AS requests,
       list(DISTINCT prompt_name ORDER BY prompt_name) FILTER (WHERE prompt_name IS NOT NULL)
           AS prompt_names,
       min(ts) AS first_ts,
       max(ts) AS last_ts,
       list(request_id ORDER BY ts, request_id)[1:$per_hash] AS example_request_ids
FROM request_prompt_versions
WHERE link_status IN ('unknown', 'ambiguous')
GROUP BY logged_hash, link_status
ORDER BY requests DESC, logged_hash
LIMIT $limit;
