-- The logged hashes that do not resolve to one registered version (unknown or ambiguous), most
-- requests first, with example request ids and the prompt names they were logged with
-- (link_pairs_status).
SELECT logged_hash,
       link_status,
       sum(requests)::BIGINT AS requests,
       list(DISTINCT prompt_name ORDER BY prompt_name) FILTER (WHERE prompt_name IS NOT NULL)
           AS prompt_names,
       min(first_ts) AS first_ts,
       max(last_ts) AS last_ts,
       list_transform(list_sort(flatten(list(examples)))[1:$per_hash], lambda e: e.request_id)
           AS example_request_ids
FROM link_pairs_status
WHERE link_status IN ('unknown', 'ambiguous')
GROUP BY logged_hash, link_status
ORDER BY requests DESC, logged_hash
LIMIT $limit;
