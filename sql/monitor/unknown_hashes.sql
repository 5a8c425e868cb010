-- Tonight's prompt versions that are not registered: their hash (resolved as far as the logs
-- allow) matches no registered version, or is a prefix of several (ambiguous).
SELECT prompt_name, prompt_hash, max(hash_matches) AS hash_matches, count(*) AS requests,
       list_sort(list_distinct(list(logged_hash)))[1] AS logged_hash
FROM monitor_window
WHERE night = $run_date AND logged_hash IS NOT NULL AND NOT hash_known
GROUP BY prompt_name, prompt_hash
ORDER BY requests DESC, prompt_name, prompt_hash;
