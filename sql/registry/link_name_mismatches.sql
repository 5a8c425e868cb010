-- Requests whose hash resolved to a version that is not registered under the logged name
-- (link_pairs_status).
SELECT r.prompt_name AS logged_name, r.version_hash, sum(r.requests)::BIGINT AS requests,
       (SELECT list(n.name ORDER BY n.name) FROM prompt_names AS n WHERE n.hash = r.version_hash)
           AS registered_names,
       list_transform(list_sort(flatten(list(r.examples)))[1:$per_hash], lambda e: e.request_id)
           AS example_request_ids
FROM link_pairs_status AS r
WHERE r.name_matches = false
GROUP BY r.prompt_name, r.version_hash
ORDER BY requests DESC, logged_name
LIMIT $limit;
