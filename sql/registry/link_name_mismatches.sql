-- Requests whose hash resolved to a version that is not registered under the logged name.
SELECT r.prompt_name AS logged_name, r.version_hash, count(*) AS requests,
       (SELECT list(n.name ORDER BY n.name) FROM prompt_names AS n WHERE n.hash = r.version_hash)
           AS registered_names,
       list(r.request_id ORDER BY r.ts, r.request_id)[1:$per_hash] AS example_request_ids
FROM request_prompt_versions AS r
WHERE r.name_matches = false
GROUP BY r.prompt_name, r.version_hash
ORDER BY requests DESC, logged_name
LIMIT $limit;
